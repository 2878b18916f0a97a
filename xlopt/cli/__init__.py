"""xlopt: fast.ai's graddesc workbook (Lesson 18) as a command line.

  xlopt run adam --epochs 10          press Reset, then Run twice (5 epochs a click)
  xlopt run adam --state s.json       continue from s.json (Reset first if it does not exist), save it
  xlopt show momentum --format csv    every column of the current 29-row pass
  xlopt build -o graddesc.xlsx        the workbook with live formulas (.xlsm adds Run/Reset buttons)
  xlopt check graddesc.xlsx           recalculate it in LibreOffice and compare every cell with the engine
  xlopt click run graddesc.xlsm --sheet adam   press a button headless, through LibreOffice
  xlopt install-libreoffice           the .xlsm's buttons in LibreOffice Calc (--uninstall)
  xlopt plot surface -o paths.gif     every sheet's path on the loss contours, row by row (compare, fit)
  xlopt gallery -o gallery            every optimizer at its tuned lr on every function problem
"""
import sys  # nothing else at import time: Ctrl-C while importing is caught once main() runs (see main)

# sub-command -> (module exposing add_arguments(parser) and main(args) -> int, one-line help)
COMMANDS = {
    "run": ("xlopt.cli.run", "press Run (5 epochs a click) on a sheet, headless"),
    "show": ("xlopt.cli.run", "print the current pass, one line per data row"),
    "build": ("xlopt.cli.build", "write the graddesc workbook with live formulas"),
    "check": ("xlopt.cli.check", "recalculate a workbook in LibreOffice and compare it with the engine"),
    "click": ("xlopt.cli.click", "press Run or Reset in a workbook without Excel (LibreOffice)"),
    "install-libreoffice": ("xlopt.cli.install_lo", "make the .xlsm's Run/Reset buttons work in LibreOffice Calc"),
    "sweep": ("xlopt.cli.sweep", "run a sheet over a grid of hyper-parameters at once (table, heat map, sheet)"),
    "plot": ("xlopt.cli.plot", "pictures: each sheet's path on the loss surface (PNG or GIF), rmse per epoch, the fits"),
    "gallery": ("xlopt.cli.gallery", "every optimizer on every function problem at its tuned lr: pictures and a table"),
}


def build_parser():
    import argparse
    import importlib
    parser = argparse.ArgumentParser(prog="xlopt", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (modname, help_) in COMMANDS.items():
        mod = importlib.import_module(modname)
        p = sub.add_parser(name, help=help_, description=help_,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        getattr(mod, "add_arguments_" + name, getattr(mod, "add_arguments", None))(p)
        p.set_defaults(_main=getattr(mod, "main_" + name, getattr(mod, "main", None)))
    return parser


def interrupted_early(prog):
    """Ctrl-C before the signal guard is in place (while importing it): the same one line, exit 130."""
    try:
        print(f"{prog}: interrupted; no file was changed", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
    return 130


def main(argv=None):
    try:
        from xlopt.core.signals import guarded
    except KeyboardInterrupt:
        return interrupted_early("xlopt")
    command = []

    def body():
        from xlopt.core import console
        from xlopt.core.errors import XloptError
        from xlopt.core.signals import held, reraise_if_interrupted
        try:  # before the imports and the parser: a deleted working folder, a closed stdout
            console.check_surroundings()
        except XloptError as e:
            print(f"{console.prog('xlopt', argv, COMMANDS)}: error: {e}", file=sys.stderr)
            return e.exit_code
        with held():  # the imports (numpy, pandas): a Ctrl-C waits until they are whole
            parser = build_parser()
        args = parser.parse_args(argv)
        command.append(args.command)
        try:
            with console.guarded_stdout():
                code = args._main(args) or 0
                console.flush_stdout()
            return code
        except XloptError as e:
            reraise_if_interrupted(e)
            print(f"xlopt {args.command}: error: {e}", file=sys.stderr)
            return e.exit_code
        except BrokenPipeError:  # `xlopt run ... | head`: the reader has what it wanted
            console.silence_stdout()
            return 0
        except OSError as e:  # a full disk, a read-only file system: the user's to fix; others are bugs
            message = console.room_message(e)
            if message is None:
                raise
            reraise_if_interrupted(e)
            print(f"xlopt {args.command}: error: {message}", file=sys.stderr)
            return 2
    # Ctrl-C, SIGTERM or SIGHUP at any moment, start-up included: one line, exit 130/143/129
    return guarded(lambda: "xlopt" + (f" {command[0]}" if command else ""), body)
