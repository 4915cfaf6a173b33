namespace BudgetGrains.TestSupport;

/// <summary>
/// A throw-away PostgreSQL server for a test run, from Debian's binaries (/usr/lib/postgresql/N/bin): initdb into a
/// temporary directory, started on a free 127.0.0.1 port with its own unix socket directory, stopped and deleted on
/// dispose. PostgreSQL refuses to run as root, so under root (tests in containers and CI) every PostgreSQL program runs
/// as the unprivileged user the Debian package creates (postgres), through runuser. Missing binaries skip the test with
/// a message naming PostgreSQL, except under CI=true, where they fail it.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    /// <summary>The superuser initdb creates; trust authentication on loopback only, so no password.</summary>
    public const string Superuser = "postgres";

    /// <summary>The OS account PostgreSQL runs as when the tests run as root.</summary>
    public const string ServiceAccount = "postgres";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    private readonly string _bin;
    private readonly string? _runAs;
    private int _disposed;

    private PostgresServer(string bin, string? runAs, string directory, int port) =>
        (_bin, _runAs, Directory, Port) = (bin, runAs, directory, port);

    /// <summary>The temporary directory holding the cluster (data/), its socket directory (socket/) and its log.</summary>
    public string Directory { get; }

    /// <summary>The loopback TCP port the server listens on.</summary>
    public int Port { get; }

    /// <summary>The bin directory of the newest installed PostgreSQL that has initdb, pg_ctl and createdb; null when none is.</summary>
    public static string? FindBinaries()
    {
        const string root = "/usr/lib/postgresql";
        if (!System.IO.Directory.Exists(root)) return null;
        return System.IO.Directory.GetDirectories(root)
            .Select(dir => (Version: int.TryParse(Path.GetFileName(dir), out var v) ? v : -1, Bin: Path.Combine(dir, "bin")))
            .Where(c => c.Version >= 0 && new[] { "initdb", "pg_ctl", "postgres", "createdb" }.All(p => File.Exists(Path.Combine(c.Bin, p))))
            .OrderByDescending(c => c.Version)
            .Select(c => c.Bin)
            .FirstOrDefault();
    }

    /// <summary>The bin directory, or skips the test (fails it under CI=true) naming what to install.</summary>
    public static string RequireBinaries() =>
        FindBinaries() ?? Components.Missing("PostgreSQL server binaries /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)");

    /// <summary>initdb, then start on a free loopback port and wait until it accepts connections.</summary>
    public static async Task<PostgresServer> StartAsync()
    {
        var bin = RequireBinaries();
        var runAs = IsRoot() ? ServiceAccount : null;
        // Under root the server's account must reach the directory: /tmp is open to every user, a root TMPDIR may not be.
        var directory = Path.Combine(runAs is null ? Path.GetTempPath() : "/tmp", "budgetgrains-pg-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "socket"));
        if (runAs is not null) Check(Components.Run("chown", ["-R", runAs, directory], CommandTimeout), "chown the PostgreSQL directory to " + runAs);
        var server = new PostgresServer(bin, runAs, directory, Components.FreeLoopbackPort());
        try
        {
            server.Run("initdb", ["-D", server.DataDirectory, "-U", Superuser, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"]);
            // fsync and synchronous_commit stay on (the defaults): the journal's durability is what is under test.
            server.Run("pg_ctl", ["-D", server.DataDirectory, "-l", Path.Combine(directory, "postgres.log"), "-w", "-t", "60", "start", "-o",
                $"-p {server.Port} -k {Path.Combine(directory, "socket")} -c listen_addresses=127.0.0.1 -c max_connections=200"]);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    private string DataDirectory => Path.Combine(Directory, "data");

    /// <summary>A connection string for <paramref name="database"/> on this server.</summary>
    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username={Superuser};Database={database};Pooling=true;Timeout=15;Command Timeout=60";

    /// <summary>Creates a new, empty database and returns its connection string (each test can have its own).</summary>
    public Task<string> CreateDatabaseAsync(string? name = null)
    {
        name ??= "t_" + Guid.NewGuid().ToString("N");
        return Task.Run(() =>
        {
            Run("createdb", ["-h", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", Superuser, name]);
            return ConnectionString(name);
        });
    }

    /// <summary>Stops the server (immediate: nothing of a test's database is worth a checkpoint) and deletes its directory.</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return ValueTask.CompletedTask;
        try
        {
            if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid"))) Run("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"]);
        }
        finally
        {
            if (System.IO.Directory.Exists(Directory)) System.IO.Directory.Delete(Directory, recursive: true);
        }
        return ValueTask.CompletedTask;
    }

    private void Run(string program, IEnumerable<string> arguments)
    {
        var path = Path.Combine(_bin, program);
        var (exitCode, output) = _runAs is null
            ? Components.Run(path, arguments, CommandTimeout)
            : Components.Run("runuser", ["-u", _runAs, "--", path, .. arguments], CommandTimeout);
        Check((exitCode, output), program);
    }

    private static void Check((int ExitCode, string Output) result, string what)
    {
        if (result.ExitCode != 0) throw new InvalidOperationException($"PostgreSQL test server: {what} exited with {result.ExitCode}:\n{result.Output}");
    }

    private static bool IsRoot() => File.Exists("/proc/self/status")
        && File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal)) is { } uid
        && uid.Split('\t', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1) == "0";
}
