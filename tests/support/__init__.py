"""What the tests share, and the only place they share it from (no test module imports another; ruff's TID251
says so in the lint):

- given.py: builders for the decider's tests, given(events) / when(command) / then(events or error), on a small
  test city; pure, so the domain's tests (and `make mutate`) import nothing else.
- scenario.py: actors, photos and points for tests on a real stack (TestStack), a policy of seconds, a report
  filed in bounded time, the `rectify` command run as a user runs it.
- starts.py: where the tests' simulations start (`RECTIFY_TEST_START`), and weeks the calendar leaves quiet.
- api.py: the HTTP API over a real stack with a key for every role; audit.py: a small simulated store to tamper
  with; faults.py: worker processes and the audit after a fault; browser.py: the accounts, cases and site of
  the browser tests.
"""
