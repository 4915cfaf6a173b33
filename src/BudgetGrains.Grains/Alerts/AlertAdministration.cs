using System.Globalization;
using BudgetGrains.Grains.Journal;
using BudgetGrains.Grains.Admission;

namespace BudgetGrains.Grains.Alerts;

/// <summary>One page of <see cref="AlertAdministration.ListAsync"/>, newest first.</summary>
public sealed record AlertPage(IReadOnlyList<StoredAlert> Alerts, string NextPageToken);

/// <summary>The control plane for alerts: list them, acknowledge them. Alerts are raised by scopes, never here.</summary>
public sealed class AlertAdministration(IGrainFactory grains, IAlertStore store)
{
    /// <summary>A page of alerts, newest first; the page token is the id of the last alert of the previous page.</summary>
    public async Task<Result<AlertPage>> ListAsync(string scopePrefix, bool unacknowledgedOnly, int pageSize, string pageToken,
        CancellationToken cancellationToken)
    {
        if (PageTokens.Size(pageSize) is not { } size) return PageTokens.InvalidSize;
        if (ValidatePrefix(scopePrefix) is { } invalid) return invalid;
        var before = long.MaxValue;
        if (pageToken.Length > 0 && !TryParseId(pageToken, out before)) return PageTokens.InvalidToken;
        var alerts = await store.ListNewestAsync(scopePrefix, unacknowledgedOnly, before, size + 1, cancellationToken);
        if (alerts.Count <= size) return new AlertPage(alerts, "");
        var page = alerts.Take(size).ToList();
        return new AlertPage(page, FormatId(page[^1].Id));
    }

    /// <summary>Acknowledges an alert; acknowledging it again returns it unchanged (the first acknowledgement stays).</summary>
    public async Task<Result<StoredAlert>> AcknowledgeAsync(string id, string by)
    {
        if (!TryParseId(id, out var alertId)) return Failure.Invalid($"alert id '{Scopes.ScopeIds.Truncate(id)}' is not an alert id (a number such as 42)");
        if (by.Length > Limits.MaxAcknowledgedByLength)
            return Failure.Invalid($"by is {by.Length} characters; the limit is {Limits.MaxAcknowledgedByLength}");
        if (by.Any(char.IsControl)) return Failure.Invalid("by must not contain control characters");
        return await grains.GetGrain<IAlertGrain>(FormatId(alertId)).AcknowledgeAsync(by);
    }

    /// <summary>Null when <paramref name="prefix"/> can filter scopes, else why not.</summary>
    public static Failure? ValidatePrefix(string prefix) => prefix.Length > Limits.MaxScopeIdLength
        ? Failure.Invalid($"scope_prefix is {prefix.Length} characters; no scope id is longer than {Limits.MaxScopeIdLength}")
        : null;

    /// <summary>Alert ids as the API writes them: "42", a positive decimal number.</summary>
    public static bool TryParseId(string text, out long id) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id) && id > 0;

    public static string FormatId(long id) => id.ToString(CultureInfo.InvariantCulture);
}
