using BudgetGrains.Contracts.V1;
using AdmissionClient = BudgetGrains.Contracts.V1.Admission.AdmissionClient;
using ManagementClient = BudgetGrains.Contracts.V1.Management.ManagementClient;

namespace BudgetGrains.Load;

/// <summary>
/// DESIGN.md §4 I1–I2 after the run, against the server's own view: every scope's live counters (GetBudget)
/// and, with the in-process silo, its durable counters and ledger sums (<see cref="IDurableCounters"/>).
/// </summary>
internal sealed class Invariants(ManagementClient management, AdmissionClient admission, IDurableCounters? store, IReadOnlyList<Chain> chains)
{
    private readonly List<string> _failures = [];
    private int _checks;
    private int _failed;

    /// <summary>The first few failed checks, described.</summary>
    public IReadOnlyList<string> Failures => _failures;

    public int Checks => _checks;

    public int Failed => _failed;

    /// <summary>Spent equals what the callers were charged (and the ledger); held equals the holds still open.</summary>
    public async Task CheckCountersAsync(long? deniedScopeLimit)
    {
        var durable = store is null ? null : await store.ReadAllCountersAsync();
        var ledger = store is null ? null : await store.SumLedgerByScopeAsync();
        foreach (var chain in chains)
        {
            var open = chain.OpenHolds.Count;
            foreach (var scope in chain.Scopes)
            {
                var live = await management.GetBudgetAsync(new GetBudgetRequest { Scope = scope });
                Expect(live.SpentNanos == chain.ChargedNanos, $"{scope}: spent {live.SpentNanos} == charged to callers {chain.ChargedNanos}");
                Expect(live.HeldNanos == open * LoadRun.EstimateNanos, $"{scope}: held {live.HeldNanos} == open holds {open} x estimate");
                Expect(live.OpenHolds == open, $"{scope}: open_holds {live.OpenHolds} == {open}");
                if (durable is not null && ledger is not null)
                {
                    var counters = durable.GetValueOrDefault(scope) ?? DurableScope.Zero;
                    var sum = ledger.GetValueOrDefault(scope);
                    Expect(counters.SpentNanos == sum, $"{scope}: durable spent {counters.SpentNanos} == ledger sum {sum}");
                    Expect(counters.SpentNanos == live.SpentNanos, $"{scope}: durable spent {counters.SpentNanos} == live {live.SpentNanos}");
                    Expect(counters.HeldNanos == live.HeldNanos && counters.OpenHolds == live.OpenHolds,
                        $"{scope}: durable held {counters.HeldNanos}/{counters.OpenHolds} == live {live.HeldNanos}/{live.OpenHolds}");
                }
                if (deniedScopeLimit is { } limit && scope == chain.LimitedScope)
                {
                    Expect(live.SpentNanos + live.HeldNanos <= limit, $"{scope}: spent + held {live.SpentNanos + live.HeldNanos} <= limit {limit}");
                    Expect(chain.Admitted * LoadRun.EstimateNanos <= limit, $"{scope}: admitted {chain.Admitted} x estimate <= limit {limit}");
                }
            }
        }
    }

    /// <summary>Releases every hold still open, {concurrency} at a time; returns how many.</summary>
    public async Task<int> ReleaseAllAsync(int concurrency)
    {
        var released = 0;
        var workers = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            foreach (var chain in chains)
            {
                while (chain.OpenHolds.TryDequeue(out var id))
                {
                    var answer = await admission.ReleaseAsync(new ReleaseRequest { ReservationId = id });
                    Expect(answer.Released, $"release of {id} released it");
                    Interlocked.Increment(ref released);
                }
            }
        });
        await Task.WhenAll(workers);
        return released;
    }

    private void Expect(bool condition, string what)
    {
        lock (_failures)
        {
            _checks++;
            if (condition) return;
            _failed++;
            if (_failures.Count < 20) _failures.Add(what);
        }
    }
}
