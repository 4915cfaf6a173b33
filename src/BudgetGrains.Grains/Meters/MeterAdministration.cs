using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Scopes;

namespace BudgetGrains.Grains.Meters;

/// <summary>The control plane for meters: set, import, list, delete, and a scope's usage per meter. Input is checked
/// here; bad input changes nothing.</summary>
public sealed class MeterAdministration(IGrainFactory grains, MeterCatalog catalog, IMeterStore store)
{
    private IMeterCatalogGrain Grain => grains.GetGrain<IMeterCatalogGrain>(IMeterCatalogGrain.Key);

    /// <summary>Creates or replaces a meter.</summary>
    public async Task<Result<CatalogMeter>> UpsertAsync(CatalogMeter meter)
    {
        if (MeterRules.Validate(meter) is { } invalid) return invalid;
        var stored = await StoreAsync([meter], "the meter could not be made durable; retry");
        return stored.Failure ?? (Result<CatalogMeter>)stored.Value!.Meters[0];
    }

    /// <summary>Stores every meter of a file at once, or none (as ImportPrices).</summary>
    public async Task<Result<MetersStored>> ImportAsync(IReadOnlyList<CatalogMeter> meters)
    {
        if (meters.Count == 0) return Failure.Invalid("meters is empty: nothing to import");
        if (meters.Count > Limits.MaxMeters) return Failure.Invalid($"meters has {meters.Count} entries; at most {Limits.MaxMeters} can be imported");
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < meters.Count; i++)
        {
            if (MeterRules.Validate(meters[i], $"meters[{i}]") is { } invalid) return invalid;
            if (!seen.TryAdd(meters[i].Name, i))
                return Failure.Invalid($"meters[{i}]: meter {meters[i].Name} is also meters[{seen[meters[i].Name]}]; give each meter once");
        }
        return await StoreAsync(meters, "the meters could not be made durable (none was imported); retry");
    }

    /// <summary>Meters in name order; the page token is the last name of the previous page.</summary>
    public Result<MeterPage> List(string namePrefix, int pageSize, string pageToken)
    {
        if (PageTokens.Size(pageSize) is not { } size) return PageTokens.InvalidSize;
        if (namePrefix.Length > Limits.MaxMeterNameLength) return Failure.Invalid($"name_prefix is longer than {Limits.MaxMeterNameLength} characters");
        if (!PageTokens.TryDecode(pageToken, out var after)) return PageTokens.InvalidToken;
        // At most MaxMeters: a scan is cheaper than keeping an index for a control-plane listing.
        var matching = catalog.InNameOrder
            .Where(m => m.Name.StartsWith(namePrefix, StringComparison.Ordinal) && string.CompareOrdinal(m.Name, after) > 0)
            .Take(size + 1).ToList();
        var page = matching.Count > size ? matching[..size] : matching;
        return new MeterPage(page, matching.Count > size ? PageTokens.Encode(page[^1].Name) : "");
    }

    /// <summary>Removes a meter: later calls that name it are refused (FAILED_PRECONDITION) until it is set again.</summary>
    public async Task<Result<MeterRemoval>> DeleteAsync(string name)
    {
        if (MeterRules.Name(name) is { } invalid) return invalid;
        try
        {
            return await Grain.RemoveAsync(name);
        }
        catch (StorageUnavailableException)
        {
            return Failure.Unavailable("the deletion could not be made durable; retry");
        }
    }

    /// <summary>A scope's usage per meter in a period: the current one (<paramref name="periodStartUnixMs"/> 0), or the
    /// one starting then (as ListPeriods gives them).</summary>
    public async Task<Result<MeterUsageReport>> UsageAsync(string scope, long periodStartUnixMs, CancellationToken cancellationToken)
    {
        if (ScopeIds.Validate(scope) is { } why) return Failure.Invalid(why);
        if (periodStartUnixMs < 0) return Failure.Invalid("period_start_unix_ms must be 0 (the current period) or a period's start");
        var status = await grains.Scope(scope).GetStatusAsync();
        var start = periodStartUnixMs == 0 ? status.PeriodStartUnixMs : periodStartUnixMs;
        return new MeterUsageReport(scope, start, await store.ReadUsageAsync(scope, start, cancellationToken));
    }

    private async Task<Result<MetersStored>> StoreAsync(IReadOnlyList<CatalogMeter> meters, string unavailable)
    {
        try
        {
            return await Grain.SetAsync(meters);
        }
        catch (StorageUnavailableException)
        {
            return Failure.Unavailable(unavailable);
        }
    }
}

/// <summary>One page of <see cref="MeterAdministration.List"/>.</summary>
public sealed record MeterPage(IReadOnlyList<CatalogMeter> Meters, string NextPageToken);

/// <summary>A scope's usage per meter in one period.</summary>
public sealed record MeterUsageReport(string Scope, long PeriodStartUnixMs, IReadOnlyList<MeterUsageRow> Rows);
