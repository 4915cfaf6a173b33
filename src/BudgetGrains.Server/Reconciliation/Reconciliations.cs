using BudgetGrains.Grains;
using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Alerts;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Prices;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grains.Storage;
using BudgetGrains.Server.Services;
using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Reconciliation;

/// <summary>
/// ImportBill and GetReconciliation (docs/decisions/0036): provider bills against the ledger per provider, model and UTC
/// day. The ledger side groups commits by their "provider" label (lower-cased, as the bill's ProviderName) and model;
/// drift is (billed - counted) / counted; a row past the bound raises a DRIFT alert through the alert journal, so it is
/// delivered like every other alert, once per provider, model, day and bound.
/// </summary>
internal sealed class Reconciliations(IBillStore store, PriceAdministration prices, JournalService journal, AlertSignal alerts, TimeProvider clock,
    int driftPercent)
{
    public const string Matched = "matched";
    public const string Drift = "drift";
    public const string BillOnly = "bill_only";
    public const string LedgerOnly = "ledger_only";
    private const long DayMs = 86_400_000;

    public int DriftPercent { get; } = ValidDriftPercent(driftPercent);

    /// <summary>The setting, checked when the silo starts (an InvalidOperationException naming it).</summary>
    public static int ValidDriftPercent(int percent) => percent is >= 1 and <= 1_000
        ? percent
        : throw new InvalidOperationException($"{Hosting.SiloOptions.Section}:ReconciliationDriftPercent must be 1 to 1000, not {percent}");

    public async Task<V1.ImportBillResponse> ImportAsync(V1.ImportBillRequest request, CancellationToken cancellationToken)
    {
        if (ScopeIds.ValidateKey(request.ImportId, "import_id") is { } badId) throw Status(StatusCode.InvalidArgument, badId);
        ParsedBill bill;
        try
        {
            bill = request.Format switch
            {
                BillFiles.Focus => BillFiles.ReadFocus(request.Content),
                BillFiles.OpenAi => BillFiles.ReadOpenAi(request.Content),
                _ => throw Status(StatusCode.InvalidArgument, $"format must be {BillFiles.Focus} or {BillFiles.OpenAi}, not '{Auth.AgentTenancy.Short(request.Format)}'"),
            };
        }
        catch (BillFileException e)
        {
            throw Status(StatusCode.InvalidArgument, $"the {request.Format} file cannot be imported: {e.Message}; nothing was imported");
        }
        var (from, to) = (bill.Lines.Min(l => l.DayUnixMs), bill.Lines.Max(l => l.DayUnixMs) + DayMs);
        if ((to - from) / DayMs > Limits.MaxReconciliationDays)
            throw Status(StatusCode.InvalidArgument, $"the bill covers {(to - from) / DayMs} days; at most {Limits.MaxReconciliationDays} per import: split the file");

        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        bool replaced;
        try
        {
            replaced = await store.ReplaceAsync(new BillImport(request.ImportId, request.Format, now, bill.Currency, bill.Lines), cancellationToken);
        }
        catch (InvalidOperationException e)
        {
            throw Status(StatusCode.ResourceExhausted, e.Message);
        }

        var providers = bill.Lines.Select(l => l.Provider).ToHashSet(StringComparer.Ordinal);
        var report = await ReportAsync(from, to, "", cancellationToken);
        var raised = report.Rows.Where(r => r.Status != Matched && providers.Contains(r.Provider))
            .Select(r => (IJournalRecord)new AlertRaised(new AlertCandidate(AlertKind.Drift, $"provider/{r.Provider}/{r.Model}", BudgetPeriod.Day,
                r.DayUnixMs, DriftPercent, r.BilledNanos, r.CountedNanos, bill.Currency, now)))
            .ToList();
        if (raised.Count > 0)
        {
            try
            {
                await journal.AppendAsync(new JournalWrite(new StateKey("reconciliation", request.ImportId), null, raised));
            }
            catch (StorageUnavailableException e)
            {
                throw Status(StatusCode.Unavailable, $"the bill was imported but its drift alerts could not be written ({e.Message}); import it again");
            }
            alerts.Persisted();
        }
        return new V1.ImportBillResponse
        {
            ImportId = request.ImportId, Lines = bill.Lines.Count, SkippedRows = bill.SkippedRows, BilledNanos = bill.Lines.Sum(l => l.BilledNanos),
            Currency = bill.Currency, Replaced = replaced, FromUnixMs = from, ToUnixMs = to, AlertsRaised = raised.Count,
        };
    }

    public Task<V1.ReconciliationReport> GetAsync(V1.GetReconciliationRequest request, CancellationToken cancellationToken)
    {
        if (request.FromUnixMs < 0 || request.ToUnixMs < 0) throw Status(StatusCode.InvalidArgument, "from_unix_ms and to_unix_ms must be 0 or more");
        var from = request.FromUnixMs - request.FromUnixMs % DayMs;
        var to = request.ToUnixMs == 0 ? clock.GetUtcNow().ToUnixTimeMilliseconds() : request.ToUnixMs;
        to = to % DayMs == 0 ? to : to - to % DayMs + DayMs;
        if (to <= from) throw Status(StatusCode.InvalidArgument, $"to_unix_ms must be after from_unix_ms");
        if ((to - from) / DayMs > Limits.MaxReconciliationDays)
            throw Status(StatusCode.InvalidArgument, $"the range is {(to - from) / DayMs} days; at most {Limits.MaxReconciliationDays}");
        if (request.Provider.Length > Limits.MaxLabelValueLength)
            throw Status(StatusCode.InvalidArgument, $"provider is longer than {Limits.MaxLabelValueLength} characters");
        return ReportAsync(from, to, request.Provider.ToLowerInvariant(), cancellationToken);
    }

    private async Task<V1.ReconciliationReport> ReportAsync(long from, long to, string provider, CancellationToken cancellationToken)
    {
        var billed = await store.ReadBilledAsync(from, to, Limits.MaxReconciliationRows + 1, cancellationToken);
        var counted = await store.ReadCountedAsync(from, to, Limits.MaxReconciliationRows + 1, cancellationToken);
        if (billed.Count > Limits.MaxReconciliationRows || counted.Count > Limits.MaxReconciliationRows)
            throw Status(StatusCode.ResourceExhausted, $"more than {Limits.MaxReconciliationRows} provider, model and day rows: ask for fewer days or one provider");

        var rows = new SortedDictionary<(string Provider, string Model, long Day), (long Billed, long Counted, long Commits)>();
        foreach (var b in billed.Where(b => provider.Length == 0 || b.Provider == provider))
        {
            var key = (b.Provider, b.Model, b.DayUnixMs);
            rows[key] = rows.GetValueOrDefault(key) with { Billed = b.BilledNanos };
        }
        foreach (var c in counted)
        {
            // Labels are free text: "OpenAI" and "openai" are one provider, as on bills.
            var key = (c.Provider.ToLowerInvariant(), c.Model, c.DayUnixMs);
            if (provider.Length > 0 && key.Item1 != provider) continue;
            var row = rows.GetValueOrDefault(key);
            rows[key] = row with { Counted = row.Counted + c.CountedNanos, Commits = row.Commits + c.Commits };
        }

        var report = new V1.ReconciliationReport { FromUnixMs = from, ToUnixMs = to, DriftBoundPercent = DriftPercent };
        foreach (var ((p, model, day), (b, c, commits)) in rows)
        {
            report.Rows.Add(new V1.ReconciliationRow
            {
                Provider = p, Model = model, DayUnixMs = day, BilledNanos = b, CountedNanos = c, DifferenceNanos = b - c, Commits = commits,
                DriftBasisPoints = c == 0 ? 0 : (long)((Int128)(b - c) * 10_000 / c),
                Status = c == 0 ? BillOnly : b == 0 ? LedgerOnly : OverBound(b, c) ? Drift : Matched,
            });
            report.BilledNanos += b;
            report.CountedNanos += c;
        }
        AddCorrections(report);
        return report;
    }

    private bool OverBound(long billed, long counted) => Int128.Abs((Int128)billed - counted) * 100 > (Int128)DriftPercent * Int128.Abs(counted);

    /// <summary>For each priced model with a drift row: its prices times billed / counted over the days both sides have.</summary>
    private void AddCorrections(V1.ReconciliationReport report)
    {
        foreach (var model in report.Rows.Where(r => r.Status == Drift).GroupBy(r => (r.Provider, r.Model)))
        {
            var both = report.Rows.Where(r => (r.Provider, r.Model) == model.Key && r.BilledNanos != 0 && r.CountedNanos != 0).ToList();
            var (billed, counted) = (both.Sum(r => r.BilledNanos), both.Sum(r => r.CountedNanos));
            if (counted <= 0 || billed < 0) continue;
            var page = ProtoMapping.Unwrap(prices.List(model.Key.Model, 1, ""));
            if (page.Prices.FirstOrDefault(p => p.Model == model.Key.Model) is not { } current) continue;
            long Scale(long nanos) => (long)(((Int128)nanos * billed * 2 + counted) / (2 * (Int128)counted));
            var p = current.Price;
            var suggested = PriceMapping.ToProto(current with
            {
                Price = new ModelPrice(Scale(p.InputNanos), Scale(p.CachedInputNanos), Scale(p.OutputNanos), Scale(p.ReasoningNanos)),
                AsOf = PriceRules.Date(clock.GetUtcNow()),
            });
            suggested.Source = "reconciliation";
            report.Corrections.Add(new V1.PriceCorrection
            {
                Provider = model.Key.Provider, Model = model.Key.Model, Current = PriceMapping.ToProto(current), Suggested = suggested,
                BilledNanos = billed, CountedNanos = counted,
            });
        }
    }

    private static RpcException Status(StatusCode code, string message) => new(new Grpc.Core.Status(code, message));
}
