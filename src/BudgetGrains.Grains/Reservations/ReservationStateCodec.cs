using System.Text;
using System.Text.Json;
using BudgetGrains.Grains.Admission;

namespace BudgetGrains.Grains.Reservations;

/// <summary>
/// The stored form of a <see cref="ReservationState"/>: compact binary, because every reserve, commit, release and
/// expiry writes one and the store pays per page. As JSON a 5-scope reservation was about 670 bytes, 5 to a SQLite
/// page, so random-key inserts split a page every few writes (about 2 page writes per reservation write, BENCHMARKS.md);
/// here it is about a third of that. A settled reservation (committed or released) keeps only what a repeated request
/// is answered from: its status, fingerprints and answers; its chain, labels and estimate key are not needed again.
/// States stored as JSON by earlier versions are still read (JSON starts with '{', this format with a format byte).
/// Format 2 (docs/decisions/0041) appends a deny's meter and remaining quantity and the held meter estimates to format 1,
/// which still reads (as no meter and none held).
/// </summary>
internal static class ReservationStateCodec
{
    /// <summary>The first byte of each format.</summary>
    private const byte Version1 = 1, Version2 = 2;

    // Where an answer's reservation id comes from.
    private const byte NoId = 0, KeyIsId = 1, OtherId = 2;

    public static byte[] Encode(string key, ReservationState state)
    {
        using var buffer = new MemoryStream(256);
        using (var w = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            var settled = state.Status is ReservationStatus.Committed or ReservationStatus.Released;
            w.Write(Version2);
            w.Write((byte)state.Status);
            w.Write(state.Fingerprint);
            WriteAnswer(w, key, state.Answer);
            WriteStrings(w, settled ? [] : state.Chain);
            var parents = settled ? [] : state.ChainParents;
            w.Write7BitEncodedInt(parents.Length);
            // A parent is almost always another scope of the chain (the walk follows parent links): its position, not its name.
            foreach (var parent in parents)
            {
                var at = parent.Length == 0 ? -1 : Array.IndexOf(state.Chain, parent);
                w.Write7BitEncodedInt(parent.Length == 0 ? 1 : at >= 0 ? at + 2 : 0);   // 0: named next, 1: none, k + 2: Chain[k]
                if (parent.Length > 0 && at < 0) w.Write(parent);
            }
            w.Write7BitEncodedInt64(state.HeldNanos);
            w.Write7BitEncodedInt64(state.ReservedAtUnixMs);
            w.Write7BitEncodedInt64(state.ExpiresAtUnixMs);
            var labels = settled ? [] : state.Labels;
            w.Write7BitEncodedInt(labels.Count);
            foreach (var (name, value) in labels)
            {
                w.Write(name);
                w.Write(value);
            }
            w.Write(settled ? "" : state.EstimateKey);
            w.Write(state.CommitFingerprint);
            w.Write(state.CommitAnswer is not null);
            if (state.CommitAnswer is { } commit)
            {
                w.Write7BitEncodedInt64(commit.ChargedNanos);
                w.Write(commit.Late);
                w.Write(commit.Overage);
            }
            if (state.Answer is { } answer)
            {
                w.Write(answer.DeniedMeter);
                w.Write7BitEncodedInt64(answer.RemainingMeterQuantity);
            }
            var meters = settled ? [] : state.HeldMeters;
            w.Write7BitEncodedInt(meters.Length);
            foreach (var m in meters)
            {
                w.Write(m.Meter);
                w.Write7BitEncodedInt64(m.Quantity);
            }
        }
        return buffer.ToArray();
    }

    public static ReservationState Decode(string key, byte[] data)
    {
        if (data.Length > 0 && data[0] == (byte)'{')
            return JsonSerializer.Deserialize(data, BudgetStateJsonContext.Default.ReservationState)
                ?? throw new InvalidDataException($"the stored state of reservation {key} is JSON null");
        using var r = new BinaryReader(new MemoryStream(data, writable: false), Encoding.UTF8);
        var format = r.ReadByte();
        if (format is not (Version1 or Version2)) throw new InvalidDataException($"the stored state of reservation {key} has an unknown format ({data[0]})");
        var status = (ReservationStatus)r.ReadByte();
        var fingerprint = r.ReadString();
        var answer = ReadAnswer(r, key);
        var chain = ReadStrings(r);
        var parents = new string[r.Read7BitEncodedInt()];
        for (var i = 0; i < parents.Length; i++)
        {
            var at = r.Read7BitEncodedInt();
            parents[i] = at switch { 0 => r.ReadString(), 1 => "", _ => chain[at - 2] };
        }
        var held = r.Read7BitEncodedInt64();
        var reservedAt = r.Read7BitEncodedInt64();
        var expiresAt = r.Read7BitEncodedInt64();
        var labelCount = r.Read7BitEncodedInt();
        var labels = new Dictionary<string, string>(labelCount, StringComparer.Ordinal);
        for (var i = 0; i < labelCount; i++) labels[r.ReadString()] = r.ReadString();
        var estimateKey = r.ReadString();
        var commitFingerprint = r.ReadString();
        var commitAnswer = r.ReadBoolean() ? new CommitAnswer(r.Read7BitEncodedInt64(), r.ReadBoolean(), r.ReadBoolean()) : null;
        Meters.MeterQuantity[] heldMeters = [];
        if (format == Version2)
        {
            if (answer is not null) answer = answer with { DeniedMeter = r.ReadString(), RemainingMeterQuantity = r.Read7BitEncodedInt64() };
            heldMeters = new Meters.MeterQuantity[r.Read7BitEncodedInt()];
            for (var i = 0; i < heldMeters.Length; i++) heldMeters[i] = new Meters.MeterQuantity(r.ReadString(), r.Read7BitEncodedInt64());
        }
        return new ReservationState
        {
            Status = status,
            Fingerprint = fingerprint,
            Answer = answer,
            Chain = chain,
            ChainParents = parents,
            HeldNanos = held,
            HeldMeters = heldMeters,
            ReservedAtUnixMs = reservedAt,
            ExpiresAtUnixMs = expiresAt,
            Labels = labels,
            EstimateKey = estimateKey,
            CommitFingerprint = commitFingerprint,
            CommitAnswer = commitAnswer,
        };
    }

    private static void WriteAnswer(BinaryWriter w, string key, ReserveAnswer? answer)
    {
        w.Write(answer is not null);
        if (answer is null) return;
        w.Write(answer.Admitted);
        var id = answer.ReservationId;
        w.Write(id.Length == 0 ? NoId : id == key ? KeyIsId : OtherId);
        if (id.Length > 0 && id != key) w.Write(id);
        w.Write7BitEncodedInt((int)answer.Reason);
        w.Write(answer.DeniedScope);
        w.Write7BitEncodedInt64(answer.RemainingNanos);
        w.Write7BitEncodedInt64(answer.ExpiresAtUnixMs);
        WriteStrings(w, answer.CrossedThresholds);
        w.Write7BitEncodedInt64(answer.HeldNanos);
        w.Write7BitEncodedInt64(answer.RetryAfterMs);
        w.Write7BitEncodedInt((int)answer.EstimateSource);
    }

    private static ReserveAnswer? ReadAnswer(BinaryReader r, string key)
    {
        if (!r.ReadBoolean()) return null;
        var admitted = r.ReadBoolean();
        var id = r.ReadByte() switch { NoId => "", KeyIsId => key, _ => r.ReadString() };
        return new ReserveAnswer(admitted, id, (DenyReason)r.Read7BitEncodedInt(), r.ReadString(), r.Read7BitEncodedInt64(),
            r.Read7BitEncodedInt64(), ReadStrings(r), r.Read7BitEncodedInt64(), r.Read7BitEncodedInt64(), (EstimateSource)r.Read7BitEncodedInt());
    }

    private static void WriteStrings(BinaryWriter w, IReadOnlyList<string> values)
    {
        w.Write7BitEncodedInt(values.Count);
        foreach (var value in values) w.Write(value);
    }

    private static string[] ReadStrings(BinaryReader r)
    {
        var values = new string[r.Read7BitEncodedInt()];
        for (var i = 0; i < values.Length; i++) values[i] = r.ReadString();
        return values;
    }
}
