"""zhen: segment Chinese documents, translate them with MarianMT, write TMX and PO.

The stages, each a module over the data model in :mod:`pipeline.data`:

    textio.read_document → segment.segment → translate.Translator
        → align.align → tmx.write_tmx / po.write_po

:mod:`pipeline.run` chains them for one document; :mod:`pipeline.cli` is the
command line on top.
"""

__version__ = "0.1.0"

# How zhen signs what it writes: the tool, and the translator of machine drafts.
TOOL = "zhen"
GENERATOR = f"{TOOL} {__version__}"
MACHINE_TRANSLATOR = f"{GENERATOR} (machine translation)"
