#!/usr/bin/env python3
"""The README's model table, made from `swift-darknet summary --json` of every cfg in cfg/.
`model_table.py` prints it; `--update README.md` rewrites it between the markers; `--check
README.md` fails when the README's table is not what the cfgs give."""
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN, END = "<!-- model table: scripts/model_table.py -->", "<!-- end of model table -->"


def table(binary):
    rows = ["| file | input | params | params without BN | MACs | outputs |", "|---|---|---|---|---|---|"]
    for cfg in sorted(glob.glob(os.path.join(ROOT, "cfg", "*.cfg"))):
        summary = json.loads(subprocess.run([binary, "summary", cfg, "--json"], capture_output=True, text=True, check=True).stdout)
        layers, totals = summary["layers"], summary["totals"]
        outputs = [l for l in layers if l["type"] in ("yolo", "region")]
        if not outputs or outputs[-1] is not layers[-1]:
            outputs.append(layers[-1])
        c, h, w = layers[0]["input"]
        rows.append("| `cfg/%s` | %d×%d×%d | %s | %s | %s | %s |" % (
            os.path.basename(cfg), c, h, w, "{:,}".format(totals["params"]), "{:,}".format(totals["params_without_bn"]),
            "{:,}".format(totals["macs"]),
            ", ".join("%s %d: %s" % (l["type"], l["index"], "×".join(map(str, l["output"]))) for l in outputs)))
    return "\n".join(rows)


def main():
    binary = os.environ.get("SWIFT_DARKNET", os.path.join(ROOT, ".build", "release", "swift-darknet"))
    text = table(binary)
    if len(sys.argv) == 3 and sys.argv[1] in ("--update", "--check"):
        readme = open(sys.argv[2]).read()
        start, end = readme.index(BEGIN) + len(BEGIN), readme.index(END)
        if sys.argv[1] == "--check":
            ok = readme[start:end].strip() == text
            print("model table: %d passed, %d failed" % (ok, not ok))
            sys.exit(0 if ok else 1)
        open(sys.argv[2], "w").write(readme[:start] + "\n" + text + "\n" + readme[end:])
    else:
        print(text)


if __name__ == "__main__":
    main()
