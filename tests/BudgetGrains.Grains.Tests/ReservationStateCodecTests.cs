using System.Text.Json;
using BudgetGrains.Grains.Admission;
using BudgetGrains.Grains.Reservations;

namespace BudgetGrains.Grains.Tests;

/// <summary>The stored form of a reservation: everything a later call needs comes back, old JSON rows still load, and a
/// settled reservation keeps only what a repeated request is answered from.</summary>
public sealed class ReservationStateCodecTests
{
    private const string Key = "req-7f3a";

    /// <summary>Every property set to something other than its default, so that a property added to the state and not to
    /// the codec fails <see cref="EveryPropertyOfAnOpenHoldComesBack"/>.</summary>
    private static readonly ReservationState Open = new()
    {
        Status = ReservationStatus.Admitted,
        Fingerprint = "B8AD0CAA4457FD9B8A1FD7462326EC1F",
        Answer = new ReserveAnswer(true, Key, DenyReason.None, "", long.MaxValue, 1_796_179_326_512, ["team/t:80"], 1_000_000, 250, EstimateSource.Learned,
            DeniedMeter: "gpu_seconds", RemainingMeterQuantity: 42),
        Chain = ["agent/a", "team/t", "cost_center/c", "feature/f", "tenant/x"],
        ChainParents = ["team/t", "cost_center/c", "", "team/t", "budget/outside-the-chain"],
        HeldNanos = 1_000_000,
        HeldMeters = [new("gpu_seconds", 3_600), new("vector_queries", 0)],
        ReservedAtUnixMs = 1_796_179_026_512,
        ExpiresAtUnixMs = 1_796_179_326_512,
        Labels = new() { ["model"] = "gpt-4.1", ["provider"] = "openai" },
        EstimateKey = "f|gpt-4.1",
        CommitFingerprint = "0D5C",
        CommitAnswer = new CommitAnswer(900_000, Late: true, Overage: false),
    };

    [Fact]
    public void EveryPropertyOfAnOpenHoldComesBack()
    {
        foreach (var property in typeof(ReservationState).GetProperties())
        {
            var value = property.GetValue(Open);
            Assert.False(value is null || value.Equals(property.PropertyType.IsValueType ? Activator.CreateInstance(property.PropertyType) : null)
                || value is System.Collections.ICollection { Count: 0 } || value is "", $"the sample leaves {property.Name} at its default");
        }

        var decoded = ReservationStateCodec.Decode(Key, ReservationStateCodec.Encode(Key, Open));

        Assert.Equal(Json(Open), Json(decoded));
    }

    [Fact]
    public void ItIsAboutAThirdOfTheJson()
    {
        var binary = ReservationStateCodec.Encode(Key, Open).Length;
        var json = JsonSerializer.SerializeToUtf8Bytes(Open, BudgetStateJsonContext.Default.ReservationState).Length;

        Assert.True(binary * 2 < json, $"{binary} bytes against {json} as JSON");
    }

    [Fact]
    public void StatesStoredAsJsonStillLoad()
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(Open, BudgetStateJsonContext.Default.ReservationState);

        Assert.Equal(Json(Open), Json(ReservationStateCodec.Decode(Key, json)));
    }

    [Theory]
    [InlineData(ReservationStatus.Committed)]
    [InlineData(ReservationStatus.Released)]
    public void ASettledReservationKeepsItsAnswersButNotItsChain(ReservationStatus status)
    {
        var decoded = ReservationStateCodec.Decode(Key, ReservationStateCodec.Encode(Key, Open with { Status = status }));

        Assert.Equal((status, Open.Fingerprint, Json(Open.Answer!), Open.CommitFingerprint, Open.CommitAnswer),
            (decoded.Status, decoded.Fingerprint, Json(decoded.Answer!), decoded.CommitFingerprint, decoded.CommitAnswer));
        Assert.Equal((0, 0, 0, "", 0), (decoded.Chain.Length, decoded.ChainParents.Length, decoded.Labels.Count, decoded.EstimateKey, decoded.HeldMeters.Length));
    }

    [Fact]
    public void AnExpiredHoldKeepsItsChainForALateCommit()
    {
        var expired = Open with { Status = ReservationStatus.Expired };

        Assert.Equal(Json(expired), Json(ReservationStateCodec.Decode(Key, ReservationStateCodec.Encode(Key, expired))));
    }

    [Fact]
    public void ADeniedAnswerWithoutAnIdComesBack()
    {
        var denied = new ReservationState
        {
            Status = ReservationStatus.Denied,
            Fingerprint = "AB",
            Answer = new ReserveAnswer(false, "", DenyReason.BudgetExhausted, "team/t", 0, 0, [], 0, 1_500),
            ReservedAtUnixMs = 5,
        };

        Assert.Equal(Json(denied), Json(ReservationStateCodec.Decode(Key, ReservationStateCodec.Encode(Key, denied))));
    }

    [Fact]
    public void ADeniedMeterLimitAnswerComesBack()
    {
        var denied = new ReservationState
        {
            Status = ReservationStatus.Denied,
            Fingerprint = "AB",
            Answer = new ReserveAnswer(false, "", DenyReason.MeterLimit, "team/t", 900, 0, [], 0, DeniedMeter: "gpu_seconds", RemainingMeterQuantity: 17),
            ReservedAtUnixMs = 5,
        };

        Assert.Equal(Json(denied), Json(ReservationStateCodec.Decode(Key, ReservationStateCodec.Encode(Key, denied))));
    }

    /// <summary>Format 1 (before meter limits) is format 2 without its last fields: a deny's meter and quantity (an empty
    /// string and a 0, a byte each) and the held meters (a count of 0).</summary>
    [Fact]
    public void StatesStoredInFormat1StillLoad()
    {
        var before = Open with { HeldMeters = [], Answer = Open.Answer! with { DeniedMeter = "", RemainingMeterQuantity = 0 } };
        var format2 = ReservationStateCodec.Encode(Key, before);
        byte[] format1 = [1, .. format2[1..^3]];

        Assert.Equal(2, format2[0]);
        Assert.Equal(Json(before), Json(ReservationStateCodec.Decode(Key, format1)));
    }

    [Fact]
    public void AnUnknownFormatIsAnError() =>
        Assert.Throws<InvalidDataException>(() => ReservationStateCodec.Decode(Key, [9, 0, 0]));

    private static string Json(ReservationState state) => JsonSerializer.Serialize(state, BudgetStateJsonContext.Default.ReservationState);

    private static string Json(ReserveAnswer answer) => JsonSerializer.Serialize(answer, BudgetStateJsonContext.Default.ReserveAnswer);
}
