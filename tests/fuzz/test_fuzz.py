"""The seeded fuzz shard of the normal test run: a fixed set of random programs
(derandomized hypothesis, so every run checks the same ones), each run on the
CPU and on accel and compared step by step (see programs.py). A failure shows
hypothesis' shrunk program, ready to become a regression test in
test_fuzz_regressions.py. The long run is run_fuzz.py."""
import warnings

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import programs

SHARD_PROGRAMS = 400


@settings(max_examples=SHARD_PROGRAMS, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.data())
def test_programs_match_cpu(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the ops' own warnings (var of one element, ...)
        program = programs.generate(programs.HypothesisDraw(data))
        note(programs.format_program(program))
        programs.check(program)
