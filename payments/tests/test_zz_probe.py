import collections, hypothesis
import payments.tests.test_state_machine as sm
counts = collections.Counter()
sm.event = lambda name: counts.update([name])
real_claim = sm.claim
def claim(worker, project):
    a = real_claim(worker, project)
    project.refresh_from_db()
    counts.update([f"claim {'ok' if a else 'none'} {project.status}"])
    return a
sm.claim = claim
def test_probe(settings, db):
    settings.PAYOUT_PROVIDER = "manual"; settings.MIN_PAYOUT_CENTS = 100
    settings.PLATFORM_FEE_PERCENT = 20; settings.EARNINGS_HOLD_SECONDS = 3600
    sm.run_state_machine_as_test(sm.MoneyMachine, settings=hypothesis.settings(
        max_examples=10, stateful_step_count=25, deadline=None, database=None,
        suppress_health_check=list(hypothesis.HealthCheck)))
    print("\nCOUNTS", dict(counts))
