"""Make demo-session.webm, the demo clinic's recording (about 4 KB, 3 s of VP8 video).

Chromium's MediaRecorder films an animated canvas, so the file is a real, playable
WebM made from nothing but code. Run it again only to change the file:

    .venv/bin/python portal/cli/data/make_demo_recording.py portal/cli/data/demo-session.webm
"""
from __future__ import annotations

import base64
import sys

RECORD = """
async () => {
  const c = document.createElement('canvas'); c.width = 160; c.height = 90;
  document.body.appendChild(c);
  const g = c.getContext('2d');
  const rec = new MediaRecorder(c.captureStream(10), {mimeType: 'video/webm;codecs=vp8', videoBitsPerSecond: 20000});
  const chunks = [];
  rec.ondataavailable = e => chunks.push(e.data);
  let t = 0;
  const timer = setInterval(() => {
    g.fillStyle = '#e6f3f5'; g.fillRect(0, 0, 160, 90);
    g.fillStyle = '#0f6e7a'; g.beginPath(); g.arc(20 + (t * 12) % 120, 45, 14, 0, 6.3); g.fill();
    g.fillStyle = '#1f2a33'; g.font = '12px sans-serif'; g.fillText('Demo session', 40, 82);
    t++;
  }, 100);
  rec.start();
  await new Promise(r => setTimeout(r, 3000));
  rec.stop();
  await new Promise(r => rec.onstop = r);
  clearInterval(timer);
  const bytes = new Uint8Array(await new Blob(chunks, {type: 'video/webm'}).arrayBuffer());
  let s = ''; for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return btoa(s);
}
"""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def main(target: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_content("<html><body></body></html>")
        data = base64.b64decode(page.evaluate(RECORD))
        browser.close()
    with open(target, "wb") as handle:
        handle.write(data)
    print(f"{target}: {len(data)} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
