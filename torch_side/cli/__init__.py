"""`torch-side` command line: one sub-command per module, so each stays small, and one
`command_main` that runs every one of them.

A command module (or the object named after ``:`` in COMMANDS) has ``add_arguments(parser)`` and
``run(args)`` (linreg keeps xlopt's name, ``main``) returning None or an exit status; it raises
`torch_side.errors` (or xlopt's) where it checks its input. `command_main` turns those into one
line on stderr and their exit status (2 bad input, 3 diverged, ...); a RuntimeError of torch about
the GPU is one line too (exit 2). Any other exception is a bug: it propagates, and the interpreter
prints its traceback and exits 1 — a plain ValueError included.
"""
import sys  # nothing else at import time: Ctrl-C while importing is caught once main() runs (see main)

DESCRIPTION = """\
The PyTorch side of xlopt: the workbook's optimizers (torch.optim subclasses) on real networks and
Fashion-MNIST, with the fast.ai lesson's training loop, recipes and teaching tools.

  torch-side train --recipe resnet-5ep             # train, printing fastai's epoch table
  torch-side compare --seeds 3 --tune lr --budget 4 # optimizers x schedules, tuned fairly
  torch-side reproduce                              # list the lesson's experiments and ours
  torch-side COMMAND --help                         # each command's options and defaults
"""

# sub-command -> module exposing add_arguments(parser) and run(args)
COMMANDS = {
    "linreg": ("torch_side.cli.linreg", "the spreadsheet's linear model solved online by the torch optimizers"),
    "train": ("torch_side.cli.train", "train a recipe (the lesson's or ours) on Fashion-MNIST, with an epoch table"),
    "compare": ("torch_side.cli.compare", "optimizers x schedules on a ResNet: seeds, equal tuning budgets, time to a target"),
    "sweep": ("torch_side.cli.sweep", "xlopt sweep on torch float64 tensors (--device cuda where present)"),
    "reproduce": ("torch_side.cli.reproduce", "the lesson's experiments and ours, as one table (bare: list them)"),
    "show-batch": ("torch_side.cli.tools:show_batch", "a PNG of an augmented batch as the model sees it"),
    "lr-find": ("torch_side.cli.tools:lr_find", "the lesson's learning-rate finder, as a PNG"),
    "sched-plot": ("torch_side.cli.tools:sched_plot", "lr and momentum per step of a schedule, before training"),
    "activations": ("torch_side.cli.tools:activations", "ActivationStats over the GeneralRelu layers, as PNGs"),
}


def command_main(name, run):
    """``main(args) -> int`` for ``torch-side NAME``: ``run(args)``, its errors as one line and a status."""
    from xlopt.core import console
    from xlopt.core.errors import XloptError
    from xlopt.core.signals import reraise_if_interrupted

    from torch_side.errors import is_device_failure

    def say(message, code, err):
        reraise_if_interrupted(err)  # a failure after Ctrl-C is the Ctrl-C's doing
        print(f"torch-side {name}: error: {message}", file=sys.stderr)
        return code

    def main(args):
        try:
            with console.guarded_stdout():
                code = run(args)  # an exit status, or what the command made (train's summary): 0
                code = code if isinstance(code, int) and not isinstance(code, bool) else 0
                console.flush_stdout()
            return code
        except XloptError as e:  # torch_side.errors and xlopt's: raised where the input was checked
            return say(e, e.exit_code, e)
        except BrokenPipeError:  # `torch-side ... | head`
            console.silence_stdout()
            return 0
        except OSError as e:  # a full disk, a read-only file system: the user's to fix; others are bugs
            message = console.room_message(e)
            if message is None:
                raise
            return say(message, 2, e)
        except RuntimeError as e:
            if not is_device_failure(e):
                raise
            return say(e, 2, e)
    return main


def main(argv=None) -> int:
    try:
        from xlopt.core.signals import guarded
    except KeyboardInterrupt:
        print("torch-side: interrupted; no file was changed", file=sys.stderr, flush=True)
        return 130
    command = []

    def body():
        import argparse
        import importlib

        from xlopt.core import console
        from xlopt.core.errors import XloptError
        from xlopt.core.signals import held
        try:  # before importing torch, whose MKL start-up fails in a deleted working folder
            console.check_surroundings()
        except XloptError as e:
            print(f"{console.prog('torch-side', argv, COMMANDS)}: error: {e}", file=sys.stderr)
            return e.exit_code
        parser = argparse.ArgumentParser(prog="torch-side", description=DESCRIPTION,
                                         formatter_class=argparse.RawDescriptionHelpFormatter)
        sub = parser.add_subparsers(dest="command", required=True, title="commands",
                                    metavar="COMMAND")
        mods = {}
        with held():  # importing torch: a Ctrl-C waits until it is whole (xlopt.core.signals)
            for name, (modname, help_) in COMMANDS.items():
                modname, _, attr = modname.partition(":")  # 'module:attribute' for a command object
                mod = importlib.import_module(modname)
                mods[name] = mod = getattr(mod, attr) if attr else mod
                p = sub.add_parser(name, help=help_, description=(mod.__doc__ or help_),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
                mod.add_arguments(p)
        args = parser.parse_args(argv)
        command.append(args.command)
        mod = mods[args.command]
        return command_main(args.command, getattr(mod, "run", None) or mod.main)(args)
    # Ctrl-C, SIGTERM or SIGHUP at any moment, start-up (importing torch) included: one line
    return guarded(lambda: "torch-side" + (f" {command[0]}" if command else ""), body)
