"""zhen: Chinese→English machine translation and alignment for localization.

The stages, each a module over the data model in :mod:`pipeline.data`
(Document → Sentence → Translation → Pair → Unit):

    textio.read_document → segment.segment → translate.Translator
        (prepare, engines, cache) → score.pair_and_score → po.write_po, tmx.write_tmx

with the translation memory (:mod:`pipeline.memory`) taking the model's place
for sentences a person approved. :mod:`pipeline.run` chains the stages for
documents; :mod:`pipeline.run_align` aligns a document with its existing
translation (:mod:`pipeline.align`). :mod:`pipeline.cli` is the command line
on top, :mod:`pipeline.settings` where defaults come from.
"""

__version__ = "0.1.0"

# How zhen signs what it writes: the tool, and the translator of machine drafts.
TOOL = "zhen"
GENERATOR = f"{TOOL} {__version__}"
MACHINE_TRANSLATOR = f"{GENERATOR} (machine translation)"
