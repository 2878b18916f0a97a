#!/usr/bin/env bash
# The screenshots under docs/: a built workbook in a real LibreOffice Calc window (Xvfb, 1366x768,
# 100 %), after two presses of Run on every optimizer sheet (so the paths sheet has paths to draw),
# and a sweep sheet. Needs what .ci/setup installs (libreoffice-calc, xvfb, imagemagick).
#
#   bash docs/screenshots.sh            # writes docs/window_*.png
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
book=$tmp/graddesc.xlsm
.venv/bin/xlopt build -o "$book"
for s in $(.venv/bin/python -c "from xlopt.core import sheets; print(*sheets.SHEETS)"); do
  .venv/bin/xlopt click run "$book" --sheet "$s" --times 2 >/dev/null || echo "($s stopped early)"
done
shots="basic,adam,adam_ann,paths,instructions"
env -u PYTHONPATH -u VIRTUAL_ENV /usr/bin/python3 tests/lo_window.py "$book" "$tmp/a" --shots --sheets "$shots"
env -u PYTHONPATH -u VIRTUAL_ENV /usr/bin/python3 tests/lo_window.py "$book" "$tmp/c" --shots --sheets adam --goto P4
.venv/bin/xlopt sweep adam --grid lr=1e-3..3:25:log,mom=0.5..0.99:20:lin --workbook "$book" >/dev/null
env -u PYTHONPATH -u VIRTUAL_ENV /usr/bin/python3 tests/lo_window.py "$book" "$tmp/s" --shots --sheets sweep_adam
for s in ${shots//,/ }; do cp "$tmp/a/$s.png" "docs/window_$s.png"; done
cp "$tmp/c/adam.png" docs/window_adam_charts.png
cp "$tmp/s/sweep_adam.png" docs/window_sweep_adam.png
ls -la docs/window_*.png
