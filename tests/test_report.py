"""The review report in a real browser (Chromium, driven by Selenium): a
report of a translated document (the tiny model's noise, scored as such)
and of an alignment, both holding hostile strings."""

import json
import random
import shutil
import time
from pathlib import Path

import polib
import pytest
from conftest import SAMPLE, require_tool, run_cli
from lxml import etree

from pipeline.data import Bead
from pipeline.report import ReportDocument, ReportUnit, render

HOSTILE_SOURCE = '<script>alert(1)</script>他说"你好"&再见。'
HOSTILE_TARGET = "</td><img src=x onerror=\"document.title='pwned'\"> said & left."
ALIGNED_ZH = f"今天天气很好。我们去公园吧。{HOSTILE_SOURCE}然后他们出发了。最后大家都回家了。\n"
ALIGNED_EN = f"The weather is good today. Let us go to the park. {HOSTILE_TARGET} Then they set off.\n"


@pytest.fixture(scope="module")
def report(tiny_model, tmp_path_factory):
    """`zhen run` on the sample document and a hostile one, `zhen align`
    of a short text, and `zhen report` of the output directory."""
    root = tmp_path_factory.mktemp("report")
    (root / "corpus").mkdir()
    shutil.copy(SAMPLE, root / "corpus")
    hostile = root / "corpus" / "hostile.txt"
    hostile.write_text(f"{HOSTILE_SOURCE}\n<img src=x onerror=alert(2)>第二句。\n", encoding="utf-8")
    out = root / "out"
    ran = run_cli("run", root / "corpus" / SAMPLE.name, hostile, "--out", out, "--model", tiny_model, "--no-tm")
    assert ran.returncode == 0, ran.stderr.decode()
    (root / "zh.txt").write_text(ALIGNED_ZH, encoding="utf-8")
    (root / "en.txt").write_text(ALIGNED_EN, encoding="utf-8")
    aligned = run_cli("align", root / "zh.txt", root / "en.txt", "--no-mt", "-o", out / "aligned.tmx")
    assert aligned.returncode == 0, aligned.stderr.decode()
    page = root / "report.html"
    result = run_cli("report", out, "-o", page)
    assert result.returncode == 0, result.stderr.decode()
    return root, page


def expected_units(out: Path) -> dict[str, list[tuple[str, float | None]]]:
    """Each document's units as its PO (or, for the alignment, its TMX) has them: (state, confidence)."""
    found: dict[str, list[tuple[str, float | None]]] = {}
    for path in sorted(out.glob("*.po")):
        for entry in polib.pofile(str(path)):
            score = (
                entry.comment.split("confidence ")[1].split(";")[0].split("\n")[0]
                if "confidence " in entry.comment
                else None
            )
            found.setdefault(path.name, []).append(
                ("draft" if entry.fuzzy else "approved", float(score) if score else None)
            )
    tree = etree.parse(str(out / "aligned.tmx"))
    found["aligned.tmx"] = [
        ("aligned", float(tu.find("prop[@type='x-zhen-confidence']").text)) for tu in tree.iterfind("body/tu")
    ]
    return found


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver_path = require_tool("chromedriver")
    options = webdriver.ChromeOptions()
    options.binary_location = require_tool("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1800"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


def open_page(browser, page: Path):
    browser.get(page.as_uri())
    deadline = time.monotonic() + 10
    while not browser.execute_script("return document.body.dataset.ready === 'true'"):
        assert time.monotonic() < deadline, "the page never became ready"
        time.sleep(0.05)


def rows(browser) -> list:
    from selenium.webdriver.common.by import By

    return browser.find_elements(By.CSS_SELECTOR, "#rows tbody tr")


def cells(browser, column: int) -> list[str]:
    return browser.execute_script(
        f"return [...document.querySelectorAll('#rows tbody tr')].map(r => r.cells[{column}].textContent)"
    )


def test_the_report_shows_every_unit_worst_first_and_runs_nothing_it_shows(report, browser, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    root, page = report
    expected = expected_units(root / "out")
    total = sum(map(len, expected.values()))
    open_page(browser, page)
    browser.save_screenshot(str(tmp_path / "report.png"))  # looked at by hand, see the README

    assert len(rows(browser)) == total
    assert browser.find_element(By.ID, "count").text == f"{total} of {total} units"
    # Worst first: drafts, then aligned, then approved; within each, confidence rising.
    states = cells(browser, 4)
    order = {"draft": 0, "aligned": 1, "approved": 2}
    assert [order[s] for s in states] == sorted(order[s] for s in states)
    confidences = [float(c) if c != "—" else 1.0 for c in cells(browser, 0)]
    drafts = [c for c, s in zip(confidences, states, strict=True) if s == "draft"]
    assert drafts == sorted(drafts)
    assert sorted(drafts) == sorted(
        c if c is not None else 1.0 for d in expected.values() for s, c in d if s == "draft"
    )

    # A filter and the search narrow the rows.
    state = Select(browser.find_element(By.ID, "state"))
    state.select_by_value("aligned")
    assert len(rows(browser)) == len(expected["aligned.tmx"]) and set(cells(browser, 4)) == {"aligned"}
    state.select_by_value("")
    browser.find_element(By.TAG_NAME, "body").send_keys("/")  # the search key
    assert browser.switch_to.active_element.get_attribute("id") == "search"
    browser.switch_to.active_element.send_keys("PARK", Keys.ESCAPE)  # either side, any case
    assert len(rows(browser)) == 1 and "park" in cells(browser, 2)[0] and "公园" in cells(browser, 1)[0]
    assert browser.switch_to.active_element.get_attribute("id") != "search"  # Esc left the box, kept the words

    def search(text):  # typed as an input method would (the driver types no Chinese)
        browser.execute_script(
            "const box = document.getElementById('search'); box.value = arguments[0];"
            "box.dispatchEvent(new Event('input'))",
            text,
        )

    search("公园")
    assert len(rows(browser)) == 1 and "park" in cells(browser, 2)[0]
    search("")
    assert len(rows(browser)) == total

    # j and k move through the rows.
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys("j", "j", "k", "j")
    current = browser.find_elements(By.CSS_SELECTOR, "#rows tbody tr.current")
    assert len(current) == 1 and current[0] == rows(browser)[1]

    # Hostile strings are text: shown as written, nothing run, nothing loaded.
    sources, targets = cells(browser, 1), cells(browser, 2)
    assert HOSTILE_SOURCE in sources and any(HOSTILE_TARGET in t for t in targets)
    assert browser.title == "zhen review report"  # the onerror= never ran
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018
    assert not browser.find_elements(By.CSS_SELECTOR, "#rows img, #rows script, #bead img")
    assert browser.find_element(By.CSS_SELECTOR, "td[lang='zh-CN']") and browser.find_element(
        By.CSS_SELECTOR, "td[lang='en']"
    )

    # The dot plot: one mark per bead of the alignment; a click shows the bead.
    beads = [
        prop.text for prop in etree.parse(str(root / "out" / "aligned.tmx")).iterfind(".//prop[@type='x-zhen-bead']")
    ]
    marks = browser.find_elements(By.CSS_SELECTOR, "rect.bead")
    assert len(marks) == len(beads) > 0
    marks[0].click()
    shown = browser.find_element(By.ID, "bead")
    assert shown.is_displayed() and beads[0] in shown.text

    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    requests = [
        json.loads(entry["message"])["message"]["params"]["request"]["url"]
        for entry in browser.get_log("performance")
        if json.loads(entry["message"])["message"]["method"] == "Network.requestWillBeSent"
    ]
    assert requests and all(url.startswith(("file:", "data:")) for url in requests), requests


def test_the_page_is_self_contained(report):
    text = report[1].read_text(encoding="utf-8").replace('"http://www.w3.org/2000/svg"', "")  # a name, not a request
    assert "http://" not in text and "https://" not in text and "//" + "cdn" not in text
    assert "<script>alert(1)" not in text  # hostile text only inside the compressed data
    assert "default-src 'none'" in text  # the browser refuses any request and any other script


def test_ten_thousand_units_make_a_page_under_two_megabytes():
    # Sentences of the sample document recombined: text as varied as a real book's.
    lines = [line for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    pieces = [piece + "。" for line in lines for piece in line.split("。") if piece.strip()]
    rng = random.Random(7)
    units = tuple(
        ReportUnit(
            source="".join(rng.sample(pieces, 2)),
            target=" ".join(rng.sample("the model translated this sentence into English words".split(), 8)) * 2,
            state="draft",
            confidence=round(rng.random(), 3),
            warnings=("unusually long: 120 characters where about 60 are usual",),
            locations=(f"corpus/book.zh.txt:{n + 1}",),
            beads=(Bead((n,), (n,)),),
        )
        for n in range(10_000)
    )
    page = render([ReportDocument("out/book.zh.po", units)])
    assert len(page.encode("utf-8")) < 2_000_000


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda d: (d / "notes.txt").write_text("hi"), "not a directory, PO or TMX file"),
        (lambda d: (d / "notes.po").write_text('msgid "a"\nmsgstr "b"\n'), "not written by zhen"),
        (lambda d: (d / "notes.tmx").write_text("<tmx><body>"), "cannot be read"),
        (lambda d: None, "cannot be read"),
    ],
)
def test_a_file_zhen_did_not_write_is_a_one_line_error(tmp_path, setup, message):
    setup(tmp_path)
    target = next(tmp_path.iterdir(), tmp_path / "missing.po")
    result = run_cli("report", target, "-o", tmp_path / "report.html")
    stderr = result.stderr.decode()
    assert result.returncode == 1 and message in stderr and stderr.count("\n") == 1, stderr
    assert not (tmp_path / "report.html").exists()


def test_align_writes_each_beads_sentences_in_the_tmx_and_po(tmp_path):
    (tmp_path / "zh.txt").write_text(ALIGNED_ZH, encoding="utf-8")
    (tmp_path / "en.txt").write_text(ALIGNED_EN, encoding="utf-8")
    for name in ("beads.txt", "aligned.tmx", "aligned.po"):
        result = run_cli("align", tmp_path / "zh.txt", tmp_path / "en.txt", "--no-mt", "-o", tmp_path / name)
        assert result.returncode == 0, result.stderr.decode()
    beads = [line for line in (tmp_path / "beads.txt").read_text().splitlines() if not line.startswith("[]")]
    in_po = [
        line.removeprefix("Aligned sentences ")
        for entry in polib.pofile(str(tmp_path / "aligned.po"))
        for line in entry.comment.splitlines()
        if line.startswith("Aligned sentences ")
    ]
    assert in_po == beads
    in_tmx = [prop.text for prop in etree.parse(str(tmp_path / "aligned.tmx")).iterfind(".//prop[@type='x-zhen-bead']")]
    assert in_tmx == [bead for bead in beads if not bead.endswith(":[]")]
