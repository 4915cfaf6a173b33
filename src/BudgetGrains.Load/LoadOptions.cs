using System.Globalization;
using System.Net;

namespace BudgetGrains.Load;

public enum Scenario
{
    /// <summary>Reserve only: holds stay open until the end (bounded by the open-holds limit of a scope).</summary>
    Reserve,
    ReserveCommit,
    ReserveRelease,
    /// <summary>Check only: no side effects, no write.</summary>
    Check,
    /// <summary>Reserve + commit against a root that admits only a few: most reserves are denied.</summary>
    Deny,
}

public enum Topology
{
    /// <summary>Every caller goes through the same chain, so each of its scopes serializes all traffic.</summary>
    HotRoot,
    /// <summary>Each caller has a chain of its own: no scope is shared.</summary>
    Tenants,
}

/// <summary>The command line of the load generator.</summary>
public sealed record LoadOptions
{
    public Scenario Scenario { get; init; } = Scenario.Reserve;
    public Topology Topology { get; init; } = Topology.HotRoot;
    /// <summary>0 = the 5-scope attribution chain (agent, team, cost_center, feature, tenant); 1..8 = named budgets b1 → ... → bL.</summary>
    public int ChainLength { get; init; }
    public int Callers { get; init; } = 64;
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Stop after this many measured operations (or at the duration, whichever comes first).</summary>
    public long? Count { get; init; }
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>The silos to drive (--server, repeated for a cluster: the callers are spread over them, caller i on
    /// silo i mod n); empty = start a silo in this process in a temporary directory.</summary>
    public IReadOnlyList<Uri> Servers { get; init; } = [];
    /// <summary>The first of <see cref="Servers"/> (where budgets are created and invariants read); null for an in-process silo.</summary>
    public Uri? Server => Servers.Count == 0 ? null : Servers[0];
    /// <summary>With --server: the silos' process ids (--server-pid, repeated), to report their CPU time as well.</summary>
    public IReadOnlyList<int> ServerPids { get; init; } = [];
    /// <summary>gRPC channels the callers are spread over (each has its own HTTP/2 connections).</summary>
    public int Channels { get; init; } = 1;
    /// <summary>Deny scenario: how many reserves the exhausted scope admits in all.</summary>
    public int DenyAdmits { get; init; } = 1000;
    /// <summary>Write a gRPC-framed CheckRequest to this file (for h2load) instead of running a load.</summary>
    public string? EmitCheckBody { get; init; }
    /// <summary>The key of the 5-scope chain in that request.</summary>
    public string BodyKey { get; init; } = "h2load";

    /// <summary>
    /// The silo's open-holds limit per scope (Limits.MaxOpenHoldsPerScope), which reserve-only runs must stay under.
    /// This library talks gRPC only and cannot see the silo's Limits; a host that references the silo sets it.
    /// </summary>
    public int MaxOpenHoldsPerScope { get; init; } = 100_000;

    public int EffectiveChainLength => ChainLength == 0 ? 5 : ChainLength;

    public const string Usage =
        """
        BudgetGrains.LoadGen: drive a silo over gRPC on loopback, then check the invariants.

          --scenario S        reserve | reserve-commit | reserve-release | check | deny   (reserve)
          --topology T        hot-root (one shared chain) | tenants (a chain per caller)  (hot-root)
          --chain-length L    1..8 named budgets b1 -> ... -> bL; default the 5-scope attribution chain
          --callers N         concurrent callers                                           (64)
          --duration SECONDS  measured time                                                (10)
          --count N           stop after N measured operations
          --warmup SECONDS    unmeasured warm-up                                           (2)
          --inproc-silo       start a silo in this process, temporary directory            (default)
          --server URL        target a running silo instead, e.g. http://127.0.0.1:5080 (loopback only);
                              repeat it for the silos of a cluster: caller i goes through silo i mod n
          --server-pid PID    with --server: the silo's process id, to report its CPU time too (repeatable)
          --channels N        gRPC channels per silo the callers are spread over           (1)
          --deny-admits N     deny scenario: reserves the exhausted scope admits           (1000)
          --emit-check-body F write a gRPC-framed CheckRequest (5-scope chain of --body-key) to F for h2load,
                              then exit; with --server, first create that chain's budgets (generous limits)
          --body-key K        key of the chain in that request                              (h2load)
        """;

    /// <summary>Null with a message on bad input.</summary>
    public static LoadOptions? Parse(string[] args, out string? error)
    {
        var options = new LoadOptions();
        error = null;
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name == "--inproc-silo")
            {
                options = options with { Servers = [] };
                continue;
            }
            if (i + 1 >= args.Length)
            {
                error = name is "--help" or "-h" ? "" : $"{name} needs a value";
                return null;
            }
            var value = args[++i];
            try
            {
                options = name switch
                {
                    "--scenario" => options with { Scenario = ParseScenario(value) },
                    "--topology" => options with { Topology = value == "tenants" ? Topology.Tenants : value == "hot-root" ? Topology.HotRoot : throw new FormatException("hot-root or tenants") },
                    "--chain-length" => options with { ChainLength = InRange(int.Parse(value, CultureInfo.InvariantCulture), 1, 8) },
                    "--callers" => options with { Callers = InRange(int.Parse(value, CultureInfo.InvariantCulture), 1, 4096) },
                    "--duration" => options with { Duration = Seconds(value, 1, 600) },
                    "--count" => options with { Count = InRange(long.Parse(value, CultureInfo.InvariantCulture), 1, 100_000_000) },
                    "--warmup" => options with { Warmup = Seconds(value, 0, 60) },
                    "--server" => options with { Servers = [.. options.Servers, Loopback(value)] },
                    "--server-pid" => options with { ServerPids = [.. options.ServerPids, InRange(int.Parse(value, CultureInfo.InvariantCulture), 1, int.MaxValue)] },
                    "--channels" => options with { Channels = InRange(int.Parse(value, CultureInfo.InvariantCulture), 1, 64) },
                    "--emit-check-body" => options with { EmitCheckBody = value },
                    "--body-key" => options with { BodyKey = value },
                    "--deny-admits" => options with { DenyAdmits = InRange(int.Parse(value, CultureInfo.InvariantCulture), 1, 1_000_000) },
                    _ => throw new FormatException("unknown option"),
                };
            }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentOutOfRangeException)
            {
                error = $"{name} {value}: {e.Message}";
                return null;
            }
        }
        return options;
    }

    private static Scenario ParseScenario(string value) => value switch
    {
        "reserve" => Scenario.Reserve,
        "reserve-commit" => Scenario.ReserveCommit,
        "reserve-release" => Scenario.ReserveRelease,
        "check" => Scenario.Check,
        "deny" => Scenario.Deny,
        _ => throw new FormatException("reserve, reserve-commit, reserve-release, check or deny"),
    };

    public static string Name(Scenario scenario) => scenario switch
    {
        Scenario.ReserveCommit => "reserve-commit",
        Scenario.ReserveRelease => "reserve-release",
        _ => scenario.ToString().ToLowerInvariant(),
    };

    public static string Name(Topology topology) => topology == Topology.HotRoot ? "hot-root" : "tenants";

    private static T InRange<T>(T value, T min, T max) where T : IComparable<T> =>
        value.CompareTo(min) < 0 || value.CompareTo(max) > 0
            ? throw new ArgumentOutOfRangeException(nameof(value), $"must be between {min} and {max}")
            : value;

    private static TimeSpan Seconds(string value, double min, double max) =>
        TimeSpan.FromSeconds(InRange(double.Parse(value.TrimEnd('s'), CultureInfo.InvariantCulture), min, max));

    /// <summary>The generator only ever targets this machine: it is a load test, not a tool to aim elsewhere.</summary>
    private static Uri Loopback(string value)
    {
        var uri = new Uri(value, UriKind.Absolute);
        var loopback = uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
        return loopback && uri.Scheme == Uri.UriSchemeHttp
            ? uri
            : throw new FormatException("only http:// on a loopback address (127.0.0.1, [::1], localhost)");
    }
}
