"""`rootctl completion bash|zsh|fish`: the script, and bash really completing with it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import run_process

BIN = Path(sys.executable).parent


def test_bash_script_uses_the_click_protocol() -> None:
    result = run_process(None, "completion", "bash")
    assert result.returncode == 0, result.stderr
    assert "_ROOTCTL_COMPLETE=bash_complete" in result.stdout
    assert "complete -o nosort -F _rootctl_completion rootctl" in result.stdout


def test_same_script_as_the_environment_variable_mechanism() -> None:
    script = run_process(None, "completion", "bash").stdout
    sourced = run_process(None, env={"_ROOTCTL_COMPLETE": "bash_source"})
    assert sourced.returncode == 0
    assert sourced.stdout == script


@pytest.mark.parametrize(
    ("shell", "marker"), [("zsh", "#compdef rootctl"), ("fish", "complete --no-files")]
)
def test_zsh_and_fish_scripts(shell: str, marker: str) -> None:
    result = run_process(None, "completion", shell)
    assert result.returncode == 0, result.stderr
    assert marker in result.stdout
    assert f"_ROOTCTL_COMPLETE={shell}_complete" in result.stdout


def test_unknown_shell_is_a_usage_error() -> None:
    result = run_process(None, "completion", "tcsh")
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert "bash" in result.stderr and "zsh" in result.stderr


def _bash_complete(words: str) -> list[str]:
    """Source the script in a real bash, complete `words` (a trailing space means a new
    word), and return COMPREPLY."""
    script = run_process(None, "completion", "bash").stdout
    typed = words.split(" ")
    program = (
        f"{script}\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in typed)}); COMP_CWORD={len(typed) - 1}\n"
        "_rootctl_completion rootctl\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ROOTCTL_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_commands_and_choices() -> None:
    assert (BIN / "rootctl").exists(), "rootctl must be installed in the venv (pip install -e .)"
    assert _bash_complete("rootctl au") == ["audit"]
    assert "completion" in _bash_complete("rootctl ")
    assert _bash_complete("rootctl completion ") == ["bash", "zsh", "fish"]
    assert {"table", "json", "csv"} <= set(_bash_complete("rootctl audit --output "))
