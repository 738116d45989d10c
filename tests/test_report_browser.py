"""The report renders in a real headless browser (Debian's chromium): images load, links work,
the verdict table is on the first screen (1280x800), the contents link to every section, tables
sort on a header click, every figure has a caption."""
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from intfp.main_job import QUICK_PLAN, run_main_job

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    assert Path(CHROMEDRIVER).exists(), "chromium-driver is installed by scripts/setup.sh"
    opts = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,800"):
        opts.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="intfp-chromium-")
    opts.add_argument(f"--user-data-dir={profile}")
    drv = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=opts)
    yield drv
    drv.quit()
    shutil.rmtree(profile, ignore_errors=True)


def test_report_renders_with_images_and_links(browser, tmp_path, monkeypatch):
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    run_main_job(out_dir=out, plan=QUICK_PLAN, stages=("qsnr",), log=lambda *a: None)
    report = out / "report.html"
    browser.get(report.as_uri())
    assert browser.title == "intfp report"
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])")
    assert images, "the report shows figures"
    broken = [src for src, complete, width in images if not (complete and width > 0)]
    assert not broken, f"images that did not load: {broken}"
    links = browser.execute_script("return Array.from(document.links).map(a => a.href)")
    for href in links:
        url = urlparse(href)
        if url.scheme == "file":
            assert Path(unquote(url.path)).exists(), f"broken link {href}"
        else:
            assert url.scheme in ("http", "https") and url.netloc, f"odd link {href}"
    text = browser.find_element("tag name", "body").text
    assert "Crossover crest factors" in text and "QSNR" in text
    browser.save_screenshot(str(out / "report_screenshot.png"))
    assert (out / "report_screenshot.png").stat().st_size > 10_000


def _verdict_fixture(out):
    """verdict.csv / verdict.png made by the real code (analysis.verdict) from a few hand-made
    sweep totals, so the layout test does not pay for the main job's hardware stage."""
    import pandas as pd

    from intfp.analysis.verdict import plot_verdict, verdict_table
    rows = []
    for fmt, area, e in (("mxint8", 20400.0, 0.80), ("mxfp8_e4m3", 19700.0, 0.62),
                         ("nvint4", 6400.0, 0.47), ("nvfp4", 7000.0, 0.50)):
        for arch in ("twos",) if "int" in fmt else ("standard",):
            rows.append(dict(format=fmt, sub_block="total", lane_arch=arch, stream="gaussian",
                             library="intfp_generic45", meets_clock=True, energy_per_mac_pj=e,
                             area_um2=area, lanes=32 if fmt.startswith("mx") else 16,
                             clock_ns=2.0, stages=1))
    v = verdict_table(pd.DataFrame(rows))
    assert len(v) >= 2
    v.to_csv(out / "verdict.csv", index=False)
    plot_verdict(v, out / "verdict.png")


def test_report_layout_verdict_first_contents_sorting_captions(browser, tmp_path, monkeypatch):
    monkeypatch.setenv("INTFP_CACHE_DIR", str(tmp_path / "cache"))
    from intfp.report import FIGURE_CAPTIONS, build_report
    out = tmp_path / "out"
    run_main_job(out_dir=out, plan=QUICK_PLAN, stages=("qsnr",), log=lambda *a: None)
    _verdict_fixture(out)
    page = build_report(out)
    text = page.read_text()
    assert "<script src" not in text and "http" not in text.split("<pre>")[0]   # no network
    browser.set_window_size(1280, 800)
    browser.get(page.as_uri())
    height = browser.execute_script("return window.innerHeight")
    assert 500 < height <= 800
    # the verdict comes first: its table is on the first screen, and before every other table
    top = browser.execute_script(
        "return document.getElementById('table-verdict').getBoundingClientRect().top")
    assert 0 < top < height, top
    tables = browser.execute_script(
        "return Array.from(document.querySelectorAll('main table')).map(t => t.id)")
    assert tables[0] == "table-verdict" and len(tables) >= 3
    shot = out / "report_first_screen.png"
    browser.save_screenshot(str(shot))
    from PIL import Image
    with Image.open(shot) as im:
        assert im.size[0] == 1280 and im.size[1] <= 800
    # the contents: one link per section, each to an element that exists
    toc = browser.execute_script(
        "return Array.from(document.querySelectorAll('nav a')).map(a => a.getAttribute('href'))")
    sections = browser.execute_script(
        "return Array.from(document.querySelectorAll('main section')).map(s => '#' + s.id)")
    assert toc == sections and len(toc) >= 4
    assert "Verdict" in browser.execute_script("return document.querySelector('nav a').textContent")
    # every figure has its one-sentence caption
    figs = browser.execute_script(
        "return Array.from(document.images).map(i => [i.getAttribute('src'), "
        "i.closest('figure') && i.closest('figure').querySelector('figcaption').textContent])")
    assert figs and all(cap == FIGURE_CAPTIONS[src] for src, cap in figs), figs
    assert all(c.count(". ") == 0 and c.endswith(".") for c in FIGURE_CAPTIONS.values())
    # sorting: click the crossovers table's kappa column twice (numbers as numbers, both ways)
    tid = "table-crossovers"
    col = browser.execute_script(
        f"return Array.from(document.querySelectorAll('#{tid} thead th')).findIndex("
        "h => /kappa|crest/i.test(h.textContent))")
    assert col >= 0
    header = browser.find_elements("css selector", f"#{tid} thead th")[col]
    values = f"return Array.from(document.querySelectorAll('#{tid} tbody tr')).map(r => parseFloat(r.cells[{col}].textContent))"
    before = browser.execute_script(values)
    header.click()
    up = browser.execute_script(values)
    assert up == sorted(before) and header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert browser.execute_script(values) == sorted(before, reverse=True)
