namespace BudgetGrains.Grains.Scopes;

/// <summary>
/// A token bucket of <c>perMinute</c> tokens refilled continuously, holding at most a minute's worth (the burst).
/// Integer arithmetic in 1/60000 token units, so one millisecond refills exactly <c>perMinute</c> units.
/// A request larger than the whole bucket is admitted when the bucket is full and empties it, rather than never.
/// </summary>
internal sealed class RateBucket(long perMinute, long nowUnixMs)
{
    private const long UnitsPerToken = 60_000;

    private long _units = perMinute * UnitsPerToken;
    private long _updatedAtUnixMs = nowUnixMs;

    public long PerMinute => perMinute;

    /// <summary>0 when <paramref name="tokens"/> can be taken now, else milliseconds until they can.</summary>
    public long RetryAfterMs(long tokens, long nowUnixMs)
    {
        Refill(nowUnixMs);
        var missing = Needed(tokens) - _units;
        return missing <= 0 ? 0 : (missing + perMinute - 1) / perMinute;
    }

    /// <summary>Takes the tokens; call only after <see cref="RetryAfterMs"/> returned 0 in the same turn.</summary>
    public void Take(long tokens) => _units -= Needed(tokens);

    /// <summary>Gives back what <see cref="Take"/> took, for a request that was not admitted after all.</summary>
    public void Refund(long tokens) => _units = Math.Min(perMinute * UnitsPerToken, _units + Needed(tokens));

    private long Needed(long tokens) => Math.Min(tokens, perMinute) * UnitsPerToken;

    private void Refill(long nowUnixMs)
    {
        var elapsed = Math.Max(0, nowUnixMs - _updatedAtUnixMs);
        _units = (long)Int128.Min((Int128)perMinute * UnitsPerToken, (Int128)_units + (Int128)elapsed * perMinute);
        _updatedAtUnixMs = Math.Max(_updatedAtUnixMs, nowUnixMs);
    }
}
