"""The report renders in a real headless browser (Debian's chromium): images load, links work."""
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
                 "--window-size=1280,2000"):
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
