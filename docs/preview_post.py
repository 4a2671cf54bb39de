"""Render a dry-run message (Block Kit JSON from GWBOT_OUTPUT_DIR) and its picture as an HTML page that looks
like a Slack post, to preview the Block Kit builders. The README's picture was made with it:

    gwbot replay --dry-run --output-dir /tmp/out bot/samples/S241102br-initial.json
    python docs/preview_post.py /tmp/out/00002-gw-alerts-message.json /tmp/out/00004-gw-alerts-*.png > post.html
    chromium --headless --screenshot=docs/post.png --window-size=900,1000 post.html
"""

from __future__ import annotations

import base64
import html
import json
import re
import sys
from pathlib import Path


def mrkdwn(text: str) -> str:
    out = html.escape(text, quote=False)
    out = re.sub(r"&lt;(https?://[^|&]+)\|([^&]+)&gt;", r'<a href="\1">\2</a>', out)
    out = re.sub(r"&lt;#(C\w+)&gt;", r'<a href="#">#channel</a>', out)
    out = re.sub(r"\*([^*\n]+)\*", r"<b>\1</b>", out)
    out = re.sub(r"`([^`\n]+)`", r"<code>\1</code>", out)
    return out.replace("\n", "<br>")


def block(b: dict) -> str:
    kind = b["type"]
    if kind == "header":
        return f'<div class="header">{html.escape(b["text"]["text"])}</div>'
    if kind == "section":
        parts = [f'<div class="text">{mrkdwn(b["text"]["text"])}</div>'] if b.get("text") else []
        if b.get("fields"):
            cells = "".join(f'<div class="field">{mrkdwn(f["text"])}</div>' for f in b["fields"])
            parts.append(f'<div class="fields">{cells}</div>')
        return f'<div class="section">{"".join(parts)}</div>'
    if kind == "context":
        return f'<div class="context">{" ".join(mrkdwn(e["text"]) for e in b["elements"])}</div>'
    if kind == "actions":
        buttons = "".join(f'<span class="button {e.get("style", "")}">{html.escape(e["text"]["text"])}</span>'
                          for e in b["elements"])
        return f'<div class="actions">{buttons}</div>'
    return ""


def page(message: dict, picture: bytes | None) -> str:
    img = (f'<img class="pic" src="data:image/png;base64,{base64.b64encode(picture).decode()}">'
           if picture else "")
    body = "".join(block(b) for b in message["blocks"])
    return f"""<!doctype html><meta charset="utf-8"><style>
body {{ font-family: Lato, 'Helvetica Neue', Arial, sans-serif; font-size: 15px; color: #1d1c1d; margin: 20px; }}
.msg {{ display: flex; gap: 10px; max-width: 820px; }} .avatar {{ width: 36px; height: 36px; border-radius: 4px;
background: #1d2951; color: white; font-weight: bold; display: flex; align-items: center; justify-content: center; }}
.name {{ font-weight: 900; }} .app {{ font-size: 10px; background: #ddd; padding: 1px 3px; border-radius: 2px; }}
.header {{ font-size: 18px; font-weight: 900; margin: 6px 0; }} .section {{ margin: 6px 0; line-height: 1.45; }}
.fields {{ display: grid; grid-template-columns: 1fr 1fr; gap: 8px 16px; }} .context {{ color: #616061;
font-size: 12px; margin: 6px 0; }} .button {{ display: inline-block; border: 1px solid #bbb; border-radius: 4px;
padding: 4px 12px; font-weight: bold; margin-right: 8px; }} .primary {{ background: #007a5a; color: white; }}
.danger {{ color: #e01e5a; }} a {{ color: #1264a3; text-decoration: none; }} .pic {{ width: 540px;
border: 1px solid #ddd; border-radius: 6px; margin-top: 8px; }} code {{ background: #f6f6f6; }}
</style><div class="msg"><div class="avatar">gw</div><div><span class="name">gwbot</span>
<span class="app">APP</span><div>{body}{img}</div></div></div>"""


if __name__ == "__main__":
    msg = json.loads(Path(sys.argv[1]).read_text())
    pic = Path(sys.argv[2]).read_bytes() if len(sys.argv) > 2 else None
    sys.stdout.write(page(msg, pic))
