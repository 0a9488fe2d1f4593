"""`rootctl completion bash|zsh|fish`: print the shell completion script.

The script is click's: the shell calls `rootctl` back with `_ROOTCTL_COMPLETE=<shell>_complete`
and the words typed so far, and click answers with the matching commands, options and
choices. So completion always matches the installed version, and only the modules of the
command being completed are imported. Same as `_ROOTCTL_COMPLETE=bash_source rootctl`.
"""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")
PROG_NAME = "rootctl"
COMPLETE_VAR = "_ROOTCTL_COMPLETE"


def completion_script(shell: str) -> str:
    """The completion script for `shell` (one of SHELLS)."""
    from click.shell_completion import get_completion_class

    from rootctl.cli.main import cli

    completion_class = get_completion_class(shell)
    if completion_class is None:  # not reachable through the CLI: click.Choice checks first
        raise click.BadParameter(f"unsupported shell {shell!r}; use one of: {', '.join(SHELLS)}")
    return completion_class(cli, {}, PROG_NAME, COMPLETE_VAR).source()


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish).

    \b
    bash: eval "$(rootctl completion bash)"   (in ~/.bashrc)
    zsh:  eval "$(rootctl completion zsh)"    (in ~/.zshrc, after compinit)
    fish: rootctl completion fish > ~/.config/fish/completions/rootctl.fish
    """
    click.echo(completion_script(shell), nl=False)
