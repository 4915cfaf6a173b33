using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Reservations;
using BudgetGrains.Grains.Settings;
using BudgetGrains.Grains.Storage;

namespace BudgetGrains.Grains.Scopes;

/// <summary>The control plane for budgets: set, read, list. Kept apart from the admission path.</summary>
/// <param name="meters">The meter catalog a meter limit's meter must be in; none = every meter is unknown.</param>
public sealed class BudgetAdministration(IGrainFactory grains, IBudgetStore store, ScopeDefaults? scopeDefaults = null, Meters.MeterCatalog? meters = null)
{
    private readonly Meters.MeterCatalog _meters = meters ?? new Meters.MeterCatalog();

    public static readonly IReadOnlyList<int> DefaultThresholdPercents = [50, 80, 100];

    private readonly ScopeDefaults _defaults = scopeDefaults ?? ScopeDefaults.Open;

    /// <summary>The deployment's settings for scopes nobody configured.</summary>
    public ScopeDefaults Defaults => _defaults;

    /// <summary>Creates or replaces a budget: every field (a full replacement).</summary>
    public Task<Result<BudgetStatus>> UpsertAsync(BudgetSettings settings) => UpsertAsync(new BudgetUpdate(settings, BudgetFields.All));

    /// <summary>
    /// Changes the fields <paramref name="update"/> names and leaves the others as they are; a scope without a budget
    /// starts from its kind's default budget or the built-in one (decision 0021). The result is checked as a whole:
    /// ranges, an ISO 4217 currency, a parent in the same currency, no cycle.
    /// </summary>
    public async Task<Result<BudgetStatus>> UpsertAsync(BudgetUpdate update)
    {
        var scope = update.Values.Scope;
        if (ScopeIds.Validate(scope) is { } badScope) return Failure.Invalid(badScope);
        if ((update.Fields & BudgetFields.Parent) != 0 && update.Values.Parent.Length > 0 && ScopeIds.Validate(update.Values.Parent) is { } badParent)
            return Failure.Invalid("parent: " + badParent);
        if ((update.Fields & BudgetFields.MeterLimits) != 0 && update.Values.MeterLimits is { Count: > 0 } limits)
        {
            var checkedLimits = MeterLimitRules.Validate(limits, _meters);
            if (checkedLimits.Failure is not null) return checkedLimits.Failure;
            update = update with { Values = update.Values with { MeterLimits = checkedLimits.Value } };
        }
        var status = await grains.Scope(scope).GetStatusAsync();
        var merged = update.ApplyTo(status.HasBudget ? status.Settings : _defaults.BaseFor(scope));
        var checkCurrency = !status.HasBudget || (update.Fields & BudgetFields.Currency) != 0;
        if (ValidateSettings(ref merged, checkCurrency) is { } invalid) return invalid;
        if ((update.Fields & (BudgetFields.Parent | BudgetFields.Currency)) != 0 && merged.Parent.Length > 0)
        {
            var parent = await grains.Scope(merged.Parent).GetStatusAsync();
            if (parent.HasBudget && parent.Currency != merged.Currency)
                return Failure.Precondition($"parent {merged.Parent} keeps its budget in {parent.Currency}, and {scope} would be in {merged.Currency}: " +
                    "spend rolls up into the parent unconverted, so a parent in another currency is refused");
        }
        if ((update.Fields & BudgetFields.Parent) != 0 && await FindCycleAsync(scope, merged.Parent) is { } cycle) return cycle;
        try
        {
            return await grains.Scope(scope).SetBudgetAsync(update);
        }
        catch (StorageUnavailableException)
        {
            return Failure.Unavailable("the budget could not be made durable; retry");
        }
    }

    /// <summary>Any well-formed scope has a status: spend is tracked on scopes without a budget too, and a
    /// scope never used reads as zeros with no limit (docs/decisions/scopes-without-budgets.md).</summary>
    public async Task<Result<BudgetStatus>> GetAsync(string scope)
    {
        if (ScopeIds.Validate(scope) is { } why) return Failure.Invalid(why);
        return await grains.Scope(scope).GetStatusAsync();
    }

    /// <summary>Removes a scope's budget; its counters and history stay.</summary>
    public Task<Result<BudgetDeleted>> DeleteAsync(string scope) =>
        OnScopeAsync(scope, async grain => new BudgetDeleted(await grain.DeleteBudgetAsync()));

    /// <summary>The kill switch.</summary>
    public Task<Result<BudgetStatus>> SetFrozenAsync(string scope, bool frozen) => OnScopeAsync(scope, grain => grain.SetFrozenAsync(frozen));

    /// <summary>Closes the scope's current period now; spent starts again from zero, open holds stay.</summary>
    public Task<Result<BudgetStatus>> ResetAsync(string scope) => OnScopeAsync(scope, grain => grain.ResetPeriodAsync());

    /// <summary>A page of a scope's closed periods, newest first; the page token is the start of the last one given.</summary>
    public async Task<Result<PeriodPage>> ListPeriodsAsync(string scope, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        if (ScopeIds.Validate(scope) is { } why) return Failure.Invalid(why);
        if (PageTokens.Size(pageSize) is not { } size) return PageTokens.InvalidSize;
        if (!PageTokens.TryDecode(pageToken, out var token)) return PageTokens.InvalidToken;
        var before = token.Length == 0 ? long.MaxValue : long.Parse(token, System.Globalization.CultureInfo.InvariantCulture);
        var periods = await store.ListClosedPeriodsAsync(scope, before, size + 1, cancellationToken);
        var page = periods.Count > size ? periods.Take(size).ToList() : periods;
        return new PeriodPage(page, periods.Count > size ? PageTokens.Encode(page[^1].StartUnixMs.ToString(System.Globalization.CultureInfo.InvariantCulture)) : "");
    }

    /// <summary>A scope's usage in its current period or (<paramref name="closed"/>) the closed one that started at
    /// <paramref name="periodStartUnixMs"/>, in total and grouped by <paramref name="groupBy"/> (one of
    /// <see cref="UsageDimensions.All"/>, or "" for totals only).</summary>
    public async Task<Result<UsageReport>> GetUsageAsync(string scope, bool closed, long periodStartUnixMs, string groupBy, int pageSize, string pageToken,
        CancellationToken cancellationToken)
    {
        if (ScopeIds.Validate(scope) is { } why) return Failure.Invalid(why);
        if (groupBy.Length > 0 && !UsageDimensions.All.Contains(groupBy))
            return Failure.Invalid($"group_by '{groupBy}' is not one of {string.Join(", ", UsageDimensions.All)} (or empty for totals)");
        if (PageTokens.Size(pageSize) is not { } size) return PageTokens.InvalidSize;
        if (!PageTokens.TryDecode(pageToken, out var token) || (token.Length > 0 && !int.TryParse(token, out _))) return PageTokens.InvalidToken;
        var offset = token.Length == 0 ? 0 : int.Parse(token, System.Globalization.CultureInfo.InvariantCulture);

        var status = await grains.Scope(scope).GetStatusAsync();
        var (period, start, end, currency) = (status.Period, status.PeriodStartUnixMs, 0L, status.Currency);
        if (closed)
        {
            var history = await store.ListClosedPeriodsAsync(scope, periodStartUnixMs + 1, 1, cancellationToken);
            if (history.Count == 0 || history[0].StartUnixMs != periodStartUnixMs)
                return Failure.NotFound($"{scope} has no closed period starting at {periodStartUnixMs}; ListPeriods gives them");
            (period, start, end, currency) = (history[0].Period, history[0].StartUnixMs, history[0].EndUnixMs, history[0].Currency);
        }
        else if (periodStartUnixMs != 0 && periodStartUnixMs != status.PeriodStartUnixMs)
        {
            return Failure.NotFound($"the current period of {scope} starts at {status.PeriodStartUnixMs}, not {periodStartUnixMs}; set closed for a closed period");
        }
        var total = await store.ReadPeriodTotalsAsync(scope, start, cancellationToken);
        IReadOnlyList<UsageRow> rows = [];
        var next = "";
        if (groupBy.Length > 0)
        {
            rows = await store.ReadUsageAsync(scope, start, groupBy, offset, size + 1, cancellationToken);
            if (rows.Count > size)
            {
                rows = rows.Take(size).ToList();
                next = PageTokens.Encode((offset + size).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        return new UsageReport(scope, period, start, end, currency, total, groupBy, rows, next);
    }

    /// <summary>Task guardrails can be set on features and agents (inherited by their tasks) and on tasks (override).</summary>
    public async Task<Result<TaskPolicy>> SetTaskPolicyAsync(string scope, TaskPolicy policy)
    {
        if (ValidateTaskPolicyScope(scope) is { } invalid) return invalid;
        if (policy.Validate() is { } bad) return bad;
        try
        {
            return await grains.Scope(scope).SetTaskPolicyAsync(policy);
        }
        catch (StorageUnavailableException)
        {
            return Failure.Unavailable("the policy could not be made durable; retry");
        }
    }

    public async Task<Result<TaskPolicy>> GetTaskPolicyAsync(string scope) =>
        ValidateTaskPolicyScope(scope) is { } invalid ? invalid : await grains.Scope(scope).GetTaskPolicyAsync();

    /// <summary>
    /// Ends a task: first the task scope denies everything (durably) and records the outcome, then every reservation still
    /// holding there is released through its own grain, outside the scope's turn (the reservation calls the scope back).
    /// Returns how many holds were released and the outcome recorded.
    /// </summary>
    public async Task<Result<EndedTask>> EndTaskAsync(string scope, string outcome = "")
    {
        if (ScopeIds.Validate(scope) is { } why) return Failure.Invalid(why);
        if (!ScopeIds.IsTask(scope)) return Failure.Invalid($"{scope} is not a task scope (task/...)");
        if (outcome.Length > 0 && TaskOutcomes.Validate(outcome) is { } badOutcome) return Failure.Invalid(badOutcome);
        TaskEnd end;
        try
        {
            end = await grains.Scope(scope).EndTaskAsync(outcome);
        }
        catch (StorageUnavailableException)
        {
            return Failure.Unavailable("the task could not be ended durably; retry");
        }
        if (end.Conflict) return Failure.Precondition($"{scope} has ended with outcome '{end.Outcome}'; an outcome is recorded once");
        var released = await Task.WhenAll(end.OpenReservations.Select(id => grains.ReservationShard(id).ReleaseAsync(id)));
        return new EndedTask(released.Count(r => r.Value?.Released == true), end.Outcome);
    }

    /// <summary>StartJob (docs/decisions/0043): the job's task scope records its pre-run estimate and takes the cap as the
    /// limit of its budget, in one durable change.</summary>
    public async Task<Result<BudgetStatus>> StartJobAsync(string tenant, string job, JobStart start)
    {
        if ((ScopeIds.ValidateKey(tenant, "tenant") ?? ScopeIds.ValidateKey(job, "job")) is { } badKey) return Failure.Invalid(badKey);
        if (start.Feature.Length > 0 && ScopeIds.ValidateKey(start.Feature, "feature") is { } badFeature) return Failure.Invalid(badFeature);
        if (start.Agent.Length > 0 && ScopeIds.ValidateKey(start.Agent, "agent") is { } badAgent) return Failure.Invalid(badAgent);
        if (start.EstimateNanos is < 0 or > Limits.MaxLimitNanos) return Failure.Invalid($"estimate_nanos must be 0 to {Limits.MaxLimitNanos}");
        if (start.CapNanos is < 0 or > Limits.MaxLimitNanos) return Failure.Invalid($"cap_nanos must be 0 to {Limits.MaxLimitNanos}");
        var scope = ScopeIds.OfTask(tenant, job);
        try
        {
            if (await grains.Scope(scope).StartJobAsync(start) is { } refused) return Failure.Precondition(refused);
        }
        catch (StorageUnavailableException)
        {
            return Failure.Unavailable("the job could not be started durably; retry");
        }
        return await grains.Scope(scope).GetStatusAsync();
    }

    private static Failure? ValidateTaskPolicyScope(string scope)
    {
        if (ScopeIds.Validate(scope) is { } why) return Failure.Invalid(why);
        var kind = scope[..scope.IndexOf('/')];
        return kind is ScopeIds.Feature or ScopeIds.Agent or ScopeIds.Task
            ? null
            : Failure.Invalid($"task guardrails are set on feature, agent or task scopes, not on {kind}");
    }

    /// <summary>A page of budgets in scope order; the page token is the last scope of the previous page. Scopes that only
    /// carry a task policy (no budget) are left out, so a page may hold fewer than page_size budgets.</summary>
    public async Task<Result<BudgetPage>> ListAsync(string prefix, int pageSize, string pageToken, CancellationToken cancellationToken)
    {
        if (PageTokens.Size(pageSize) is not { } size) return PageTokens.InvalidSize;
        if (prefix.Length > Limits.MaxScopeKeyLength + 16) return Failure.Invalid("scope_prefix is too long");
        if (!PageTokens.TryDecode(pageToken, out var after)) return PageTokens.InvalidToken;
        var scopes = await store.ListBudgetScopesAsync(prefix, after, size + 1, cancellationToken);
        var page = scopes.Count > size ? scopes.Take(size).ToList() : scopes;
        var statuses = await Task.WhenAll(page.Select(s => grains.Scope(s).GetStatusAsync()));
        var next = scopes.Count > size ? PageTokens.Encode(page[^1]) : "";
        return new BudgetPage(statuses.Where(s => s.HasBudget).ToList(), next);
    }

    /// <summary>Validates the scope, runs a change on its grain, and answers UNAVAILABLE when it could not be made durable.</summary>
    private async Task<Result<T>> OnScopeAsync<T>(string scope, Func<IScopeGrain, Task<T>> change) where T : class
    {
        if (ScopeIds.Validate(scope) is { } why) return Failure.Invalid(why);
        try
        {
            return await change(grains.Scope(scope));
        }
        catch (StorageUnavailableException)
        {
            return Failure.Unavailable("the change could not be made durable; retry");
        }
    }

    /// <summary>Sets a tenant's own UnknownScopes setting (<see cref="UnknownScopesMode.Unspecified"/> removes it).</summary>
    public async Task<Result<TenantSettings>> SetTenantSettingsAsync(string tenant, UnknownScopesMode mode)
    {
        if (ScopeIds.ValidateKey(tenant, "tenant") is { } why) return Failure.Invalid(why);
        if (!Enum.IsDefined(mode)) return Failure.Invalid($"unknown_scopes {(int)mode} is not one of UNSPECIFIED, OPEN, CLOSED");
        try
        {
            var set = await grains.Scope(ScopeIds.Of(ScopeIds.Tenant, tenant)).SetUnknownScopesAsync(mode);
            return new TenantSettings(tenant, set, _defaults.Effective(set));
        }
        catch (StorageUnavailableException)
        {
            return Failure.Unavailable("the setting could not be made durable; retry");
        }
    }

    public async Task<Result<TenantSettings>> GetTenantSettingsAsync(string tenant)
    {
        if (ScopeIds.ValidateKey(tenant, "tenant") is { } why) return Failure.Invalid(why);
        var mode = await grains.Scope(ScopeIds.Of(ScopeIds.Tenant, tenant)).GetUnknownScopesAsync();
        return new TenantSettings(tenant, mode, _defaults.Effective(mode));
    }

    /// <summary>The checks every budget passes (also the configured default budgets); normalizes the currency and the
    /// thresholds (sorted, distinct; empty = 50, 80, 100).</summary>
    /// <param name="checkCurrency">Whether the currency must be an ISO 4217 code; false keeps a currency stored before
    /// the list was checked (an update that does not name it).</param>
    internal static Failure? ValidateSettings(ref BudgetSettings s, bool checkCurrency = true)
    {
        if (ScopeIds.Validate(s.Scope) is { } why) return Failure.Invalid(why);
        if (s.Parent.Length > 0 && ScopeIds.Validate(s.Parent) is { } whyParent) return Failure.Invalid("parent: " + whyParent);
        if (s.Parent == s.Scope) return Failure.Invalid($"scope {s.Scope} cannot be its own parent");
        if (s.LimitNanos is < 0 or > Limits.MaxLimitNanos)
            return Failure.Invalid($"limit_nanos must be between 0 (no limit) and {Limits.MaxLimitNanos}");
        if (!Enum.IsDefined(s.Period)) return Failure.Invalid($"period {(int)s.Period} is not one of NONE, HOUR, DAY, WEEK, MONTH");
        if (s.ThresholdPercents.Count > Limits.MaxThresholds)
            return Failure.Invalid($"at most {Limits.MaxThresholds} threshold_percents");
        foreach (var percent in s.ThresholdPercents)
            if (percent is < 1 or > Limits.MaxThresholdPercent)
                return Failure.Invalid($"threshold_percents must be between 1 and {Limits.MaxThresholdPercent}");
        if (s.RequestsPerMinute is < 0 or > Limits.MaxRatePerMinute || s.TokensPerMinute is < 0 or > Limits.MaxRatePerMinute)
            return Failure.Invalid($"requests_per_minute and tokens_per_minute must be between 0 (no limit) and {Limits.MaxRatePerMinute}");
        var currency = s.Currency.Length == 0 ? Iso4217.Default : s.Currency;
        if (checkCurrency && Iso4217.Validate(currency) is { } badCurrency) return Failure.Invalid(badCurrency);
        var thresholds = s.ThresholdPercents.Count == 0 ? DefaultThresholdPercents : s.ThresholdPercents.Distinct().Order().ToArray();
        s = s with { Currency = currency, ThresholdPercents = thresholds };
        return null;
    }

    /// <summary>Follows parent links from the new parent; reaching the scope again would make a cycle.</summary>
    private async Task<Failure?> FindCycleAsync(string scope, string parent)
    {
        for (var (current, depth) = (parent, 1); current.Length > 0; depth++)
        {
            if (current == scope) return Failure.Invalid($"parent {parent} would make a cycle through {scope}");
            if (depth >= Limits.MaxChainLength)
                return Failure.Invalid($"parent {parent} would make a chain longer than {Limits.MaxChainLength} scopes");
            current = (await grains.Scope(current).GetStatusAsync()).Parent;
        }
        return null;
    }
}

/// <summary>A tenant's own settings and what applies to its chains.</summary>
public sealed record TenantSettings(string Tenant, UnknownScopesMode UnknownScopes, UnknownScopesMode EffectiveUnknownScopes);

/// <summary>What <see cref="BudgetAdministration.EndTaskAsync"/> did.</summary>
public sealed record EndedTask(int ReleasedHolds, string Outcome);

/// <summary>What <see cref="BudgetAdministration.DeleteAsync"/> did.</summary>
public sealed record BudgetDeleted(bool Deleted);

/// <summary>One page of <see cref="BudgetAdministration.ListPeriodsAsync"/>.</summary>
public sealed record PeriodPage(IReadOnlyList<PeriodSummary> Periods, string NextPageToken);

/// <summary>One page of <see cref="BudgetAdministration.ListAsync"/>.</summary>
public sealed record BudgetPage(IReadOnlyList<BudgetStatus> Budgets, string NextPageToken);
