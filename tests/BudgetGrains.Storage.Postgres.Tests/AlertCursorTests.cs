using BudgetGrains.Grains.Alerts;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grains.Storage;
using BudgetGrains.Storage.Postgres.Alerts;

namespace BudgetGrains.Storage.Postgres.Tests;

/// <summary>
/// An outbox reads "the alerts after my cursor" (decision 0009). In a cluster several silos' journals insert alerts at
/// once, so an alert id must never become visible before a smaller one that is still being committed: a cursor moved
/// past the larger id would skip the smaller alert for good (decision 0038).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class AlertCursorTests(PostgresFixture postgres)
{
    private const int BatchesPerSilo = 150;

    [SkippableFact]
    public async Task A_cursor_over_alerts_written_by_two_silos_at_once_skips_none()
    {
        var database = await postgres.NewDatabaseAsync();
        await using var silo1 = await PostgresJournalServices.OpenAsync(database, exclusive: false);
        await using var silo2 = await PostgresJournalServices.OpenAsync(database, exclusive: false);
        var alerts = new PostgresAlertStore(silo1.ReadSource);

        using var done = new CancellationTokenSource();
        var seen = new HashSet<long>();
        var reader = Task.Run(async () =>
        {
            // What an outbox does: read after the cursor, move the cursor to the last id read.
            var cursor = 0L;
            while (true)
            {
                var finished = done.IsCancellationRequested;
                foreach (var alert in await alerts.ListAfterAsync(cursor, "", 1_000, CancellationToken.None))
                {
                    seen.Add(alert.Id);
                    cursor = alert.Id;
                }
                if (finished) return;
            }
        });
        await Task.WhenAll(new[] { silo1, silo2 }.Select((silo, s) => Task.Run(async () =>
        {
            for (var b = 0; b < BatchesPerSilo; b++)
            {
                // The alert first, then enough rows to keep the transaction open a while after the alert took its id.
                var scope = $"team/s{s}-b{b}";
                IJournalRecord[] records =
                [
                    new AlertRaised(new AlertCandidate(AlertKind.Threshold, scope, BudgetPeriod.None, 0, 50, 50, 100, "USD", 1)),
                    .. Enumerable.Range(0, 500).Select(i => new ScopeCounterDelta($"{scope}/{i}", SpentNanos: 1)),
                ];
                Assert.Empty(await silo.WriteBatchAsync([new JournalWrite(new StateKey("test", scope), null, records)], CancellationToken.None));
            }
        })));
        await done.CancelAsync();
        await reader;

        var all = (await alerts.ListAfterAsync(0, "", 10_000, CancellationToken.None)).Select(a => a.Id).ToList();
        Assert.Equal(2 * BatchesPerSilo, all.Count);
        Assert.Equal([], all.Except(seen).Order());
    }
}
