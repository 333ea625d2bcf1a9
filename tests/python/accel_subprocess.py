"""Running snippets in fresh Python processes, for what a process can do only once
(choose the chip, the device count, the fallback policy from the environment,
autoload the backend) and for code that may crash the interpreter.

Processes are started with start() and collected with Proc.result(), so that a
test module can start all of its processes at once and let them run in parallel.
"""
import json
import os
import subprocess
import sys

TIMEOUT_S = 120

# Helpers every snippet gets: attempt(fn) -> None or [exception type, message],
# emit(dict) prints the result as one JSON line the test parses.
PRELUDE = r'''
import json as _json
def attempt(fn):
    try:
        fn()
    except BaseException as e:
        return [type(e).__name__, str(e)]
    return None
def emit(result):
    print("RESULT:" + _json.dumps(result), flush=True)
'''


def clean_env(**overrides):
    """The current environment without torch_accel's variables (the outer shell
    may set them), plus the given ones."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TORCH_ACCEL_") and k != "TORCH_DEVICE_BACKEND_AUTOLOAD"}
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONWARNINGS"] = "ignore"
    env.update({k: str(v) for k, v in overrides.items()})
    return env


class Proc:
    def __init__(self, code, env=None, cwd=None, prelude=True):
        self.code = (PRELUDE + code) if prelude else code
        self._p = subprocess.Popen([sys.executable, "-c", self.code], env=clean_env(**(env or {})),
                                   cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True)
        self._done = False

    def result(self):
        if not self._done:
            try:
                self.stdout, self.stderr = self._p.communicate(timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._p.kill()
                self.stdout, self.stderr = self._p.communicate()
            self.returncode = self._p.returncode
            self._done = True
        return self

    def describe(self):
        r = self.result()
        return (f"exit status {r.returncode}\n--- stdout ---\n{r.stdout[-3000:]}"
                f"\n--- stderr ---\n{r.stderr[-3000:]}")

    def json(self):
        """The emitted result; fails the test with the process's output if the
        process crashed or emitted nothing."""
        r = self.result()
        for line in reversed(r.stdout.splitlines()):
            if line.startswith("RESULT:"):
                return json.loads(line[len("RESULT:"):])
        raise AssertionError("the subprocess emitted no result: " + self.describe())


def start(code, env=None, cwd=None, prelude=True):
    return Proc(code, env=env, cwd=cwd, prelude=prelude)
