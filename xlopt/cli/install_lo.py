"""xlopt install-libreoffice: make the .xlsm's Run and Reset buttons work in LibreOffice Calc.

Puts xlopt_lo.py (xlopt/live/lo/xlopt_lo.py, with the folder this xlopt is imported from written in)
into the LibreOffice user profile's Scripts/python folder, and binds its on_load to LibreOffice's
"View created" event in the profile's registrymodifications.xcu (see xlopt_lo.py for why).
`--uninstall` takes both out again. LibreOffice rewrites that file when it exits: close it first.
Macro security stays the user's choice (the buttons are document macros): `--macro-security medium`
makes LibreOffice ask when a file with macros opens; the README says how to trust a folder instead.
"""
import os
import re
import subprocess
import sys
from xml.sax.saxutils import escape

from xlopt.core.atomic import replacing
from xlopt.core.errors import BadInput, MissingTool

SCRIPT_NAME = "xlopt_lo.py"
TEMPLATE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "live", "lo", SCRIPT_NAME)
ON_LOAD_URL = f"vnd.sun.star.script:{SCRIPT_NAME}$on_load?language=Python&location=user"
EVENTS_PATH = "/org.openoffice.Office.Events/ApplicationEvents/Bindings"
# "View created" (Tools > Customize > Events): fired for every document opened with a view, hidden
# ones too; "Open Document" (OnLoad) is not fired for a hidden load, so headless tests never see it
EVENT = "OnViewCreated"
SECURITY_PATH = "/org.openoffice.Office.Common/Security/Scripting"
LEVELS = {"low": 0, "medium": 1, "high": 2, "very-high": 3}
DEFAULT_LEVEL = "high"  # LibreOffice's own default: document macros run only from trusted locations
INSTALL = "sudo apt-get install libreoffice-calc python3-uno libreoffice-script-provider-python"
XCU_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
            'xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n')
XCU_TAIL = "</oor:items>\n"


def add_arguments(p):
    p.epilog = ("Then open the .xlsm in LibreOffice Calc, allow its macros (Tools > Options > LibreOffice > "
                "Security > Macro Security: Medium and answer Enable Macros, or add the workbook's folder "
                "under Trusted Sources > Trusted File Locations) and press Run or Reset.")
    p.add_argument("--uninstall", action="store_true", help="remove the script and the View created binding")
    p.add_argument("--profile", metavar="DIR", default=None,
                   help="the LibreOffice user installation (the folder holding user/), default: the usual "
                        "one for this system (-env:UserInstallation otherwise)")
    p.add_argument("--macro-security", choices=tuple(LEVELS), default=None,
                   help="also set Tools > Options > Security > Macro Security (default: leave it)")


# --- where things are -------------------------------------------------------------------------------
def default_profile():
    """The user installation LibreOffice uses when none is given (the folder holding user/)."""
    if sys.platform.startswith("win"):
        return os.path.join(os.environ.get("APPDATA", os.path.expanduser("~")), "LibreOffice", "4")
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Application Support/LibreOffice/4")
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return os.path.join(base, "libreoffice", "4")


def script_path(profile):
    return os.path.join(profile, "user", "Scripts", "python", SCRIPT_NAME)


def xcu_path(profile):
    return os.path.join(profile, "user", "registrymodifications.xcu")


def program_dir():
    from xlopt.live.lo.process import find_soffice
    soffice = os.path.realpath(find_soffice())  # MissingTool when LibreOffice is not installed
    return os.path.dirname(soffice)


def lo_python(program):
    """The Python LibreOffice runs scripts with: its own (Windows, macOS, TDF builds) or the system's."""
    for name in ("python.exe", "python", "../Resources/python"):
        p = os.path.normpath(os.path.join(program, name))
        if os.path.isfile(p):
            return p
    return "/usr/bin/python3"


def check_bridge(program):
    """MissingTool unless LibreOffice can run Python scripts (pythonscript.py, uno for its Python)."""
    if not any(os.path.exists(os.path.join(program, f)) for f in ("pythonscript.py", "../Resources/pythonscript.py")):
        raise MissingTool(f"LibreOffice's Python script provider is not installed (no pythonscript.py in "
                          f"{program}): {INSTALL}")
    python = lo_python(program)
    r = subprocess.run([python, "-c", "import uno"], capture_output=True, text=True)
    if r.returncode != 0:
        raise MissingTool(f"LibreOffice's Python bridge is missing: {python} cannot import uno: {INSTALL}")
    return python


def check_import(python, paths):
    """(ok, why): can LibreOffice's Python import xlopt's in-LibreOffice part from `paths`?"""
    code = ("import sys; sys.path[:0] = %r; import uno; import xlopt.live.lo.script as s; print(s.__file__)" % (paths,))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # as LibreOffice started from a menu
    r = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env, cwd=os.path.abspath(os.sep))
    if r.returncode == 0:
        return True, r.stdout.strip()
    return False, (r.stderr.strip().splitlines() or ["?"])[-1]


def running(profile):
    return os.path.exists(os.path.join(profile, ".lock"))


# --- registrymodifications.xcu ------------------------------------------------------------------------
def _items(profile):
    try:
        with open(xcu_path(profile), encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    return re.findall(r"<item\b.*?</item>", text, re.S)


def _write_items(profile, items):
    os.makedirs(os.path.dirname(xcu_path(profile)), exist_ok=True)
    with replacing(xcu_path(profile)) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(XCU_HEAD + "".join(i + "\n" for i in items) + XCU_TAIL)


def _is_on_load(item):
    return f'oor:path="{EVENTS_PATH}"' in item and f'oor:name="{EVENT}"' in item


def _is_level(item):
    return f'oor:path="{SECURITY_PATH}"' in item and 'oor:name="MacroSecurityLevel"' in item


def on_load_item(url=ON_LOAD_URL):
    return (f'<item oor:path="{EVENTS_PATH}"><node oor:name="{EVENT}" oor:op="replace">'
            f'<prop oor:name="BindingURL" oor:op="fuse"><value>{escape(url)}</value></prop></node></item>')


def level_item(level):
    return (f'<item oor:path="{SECURITY_PATH}"><prop oor:name="MacroSecurityLevel" oor:op="fuse">'
            f"<value>{LEVELS[level]}</value></prop></item>")


def macro_security_level(profile):
    """The profile's macro security level (a key of LEVELS); LibreOffice's default when unset."""
    for item in _items(profile):
        if _is_level(item):
            m = re.search(r"<value>(\d+)</value>", item)
            if m:
                return {v: k for k, v in LEVELS.items()}.get(int(m.group(1)), DEFAULT_LEVEL)
    return DEFAULT_LEVEL


def security_warning(level):
    """A warning when `level` keeps the buttons (document macros) from running, else None."""
    if LEVELS[level] < LEVELS["high"]:
        return None
    return (f"warning: LibreOffice's macro security is {level.replace('-', ' ').title()}"
            + (" (its default)" if level == DEFAULT_LEVEL else "")
            + ": it runs no document macro outside Trusted File Locations, so the Run and Reset buttons "
            "do nothing (the workbook says why when it opens). Run this again with --macro-security "
            "medium (LibreOffice then asks: Enable Macros), or add the workbook's folder under Tools > "
            "Options > LibreOffice > Security > Macro Security > Trusted Sources > Trusted File Locations.")


def set_settings(profile, on_load=True, macro_security=None):
    """Bind (or unbind) on_load to the View created event; optionally set the macro security level."""
    items = _items(profile)
    others = [i for i in items if _is_on_load(i) and escape(ON_LOAD_URL) not in i and "<value>" in i]
    if on_load and others:
        raise BadInput(f"LibreOffice's View created event already runs another macro ({xcu_path(profile)}): "
                       "remove that binding (Tools > Customize > Events) or bind xlopt's by hand to "
                       f"{ON_LOAD_URL}")
    items = [i for i in items if not (_is_on_load(i) and escape(ON_LOAD_URL) in i)]
    if on_load:
        items.append(on_load_item())
    if macro_security:
        items = [i for i in items if not _is_level(i)] + [level_item(macro_security)]
    _write_items(profile, items)


# --- install / uninstall ------------------------------------------------------------------------------
def install(profile=None, paths=None, macro_security=None, check=True):
    """Install into `profile`; returns the lines to tell the user. paths: sys.path folders to embed."""
    from xlopt.live.lo import script
    profile = os.path.abspath(profile or default_profile())
    paths = script.installed_paths() if paths is None else list(paths)
    notes = []
    if check:
        program = program_dir()
        python = check_bridge(program)
        ok, why = check_import(python, paths)
        if not ok:
            notes.append(f"warning: LibreOffice's Python {python} cannot import xlopt from {', '.join(paths)} "
                         f"({why}); the buttons will say so. Install xlopt for that Python, or run this "
                         "command from a Python of the same version whose xlopt it can import.")
    if running(profile):
        raise BadInput(f"LibreOffice is running on the profile {profile} (it rewrites its settings when it "
                       "exits): close every LibreOffice window, then run this again")
    with open(TEMPLATE, encoding="utf-8") as f:
        text = f.read()
    text, n = re.subn(r"^XLOPT_PATHS = \[\].*$", f"XLOPT_PATHS = {paths!r}", text, count=1, flags=re.M)
    assert n == 1, "the template lost its XLOPT_PATHS line"
    target = script_path(profile)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with replacing(target) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    set_settings(profile, on_load=True, macro_security=macro_security)
    warning = security_warning(macro_security or macro_security_level(profile))
    if warning:
        notes.append(warning)
    notes.insert(0, f"installed {target} (imports xlopt from {', '.join(paths) or 'LibreOffice’s own sys.path'})")
    notes.append(f"bound its on_load to LibreOffice's View created event in {xcu_path(profile)}")
    if macro_security:
        notes.append(f"set macro security to {macro_security}")
    return notes


def uninstall(profile=None):
    profile = os.path.abspath(profile or default_profile())
    if running(profile):
        raise BadInput(f"LibreOffice is running on the profile {profile}: close it, then run this again")
    notes = []
    target = script_path(profile)
    if os.path.exists(target):
        os.remove(target)
        notes.append(f"removed {target}")
    if any(_is_on_load(i) and escape(ON_LOAD_URL) in i for i in _items(profile)):
        set_settings(profile, on_load=False)
        notes.append(f"removed the View created binding from {xcu_path(profile)}")
    return notes or [f"nothing of xlopt's was installed in {profile}"]


def main(args):
    notes = uninstall(args.profile) if args.uninstall else install(args.profile, macro_security=args.macro_security)
    for n in notes:
        print(n)
    if not args.uninstall:
        print("next: open the .xlsm in LibreOffice Calc, allow its macros (Tools > Options > LibreOffice > "
              "Security > Macro Security), press Run or Reset on an optimizer sheet")
    return 0
