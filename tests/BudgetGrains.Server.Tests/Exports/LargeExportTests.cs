using System.Globalization;
using System.Text.RegularExpressions;
using BudgetGrains.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace BudgetGrains.Server.Tests.Exports;

/// <summary>
/// A ledger of a million commits, written straight into a real SQLite file, exported over REST by a silo process: every
/// row arrives, and the process' peak resident memory (Linux VmHWM, reset just before the export) grows by far less than
/// the file it sent, so the rows were never all in memory at once. The figures go to the test output (BENCHMARKS.md).
/// </summary>
public sealed partial class LargeExportTests(ITestOutputHelper output) : IDisposable
{
    private const int Rows = 1_000_000;

    /// <summary>Peak memory the export may add to the silo: a page of rows, a chunk, Kestrel's buffers and the GC's
    /// allocation budget; the exported file is several times larger.</summary>
    private const long MaxGrowthBytes = 96L * 1024 * 1024;

    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "budgetgrains-large-export-" + Guid.NewGuid().ToString("N"));

    [SkippableFact]
    public async Task AMillionRowLedgerExportsEveryRowInBoundedMemory()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the memory is read from /proc");
        var database = Path.Combine(_dataDir, "budgetgrains.db");
        Directory.CreateDirectory(_dataDir);
        await WriteLedgerAsync(database);

        using var server = await ServerProcess.StartAsync(_dataDir);
        var http = RestAddress().Match(string.Join("\n", server.Output)) is { Success: true } m ? new Uri(m.Groups[1].Value)
            : throw new InvalidOperationException("the silo did not say where its REST API is:\n" + string.Join("\n", server.Output));
        await File.WriteAllTextAsync($"/proc/{server.Pid}/clear_refs", "5"); // resets VmHWM to the current resident size
        var before = ProcStatus(server.Pid, "VmRSS");

        using var client = new HttpClient { BaseAddress = http, Timeout = TimeSpan.FromMinutes(5) };
        var watch = System.Diagnostics.Stopwatch.StartNew();
        using var response = await client.GetAsync("api/v1/exports/ledger?format=csv", HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[256 * 1024];
        long bytes = 0, lines = 0;
        int read;
        while ((read = await body.ReadAsync(buffer)) > 0)
        {
            bytes += read;
            lines += buffer.AsSpan(0, read).Count((byte)'\n');
        }
        watch.Stop();
        var peak = ProcStatus(server.Pid, "VmHWM");

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"exported {lines - 1:N0} rows, {bytes / 1024.0 / 1024:F0} MiB in {watch.Elapsed.TotalSeconds:F1} s; silo RSS before {before / 1024.0 / 1024:F0} MiB, peak during {peak / 1024.0 / 1024:F0} MiB (+{(peak - before) / 1024.0 / 1024:F0} MiB)"));
        Assert.Equal(Rows, lines - 1);
        Assert.True(bytes > 2 * MaxGrowthBytes, $"the export is {bytes} bytes: too small to tell bounded memory from loading it all");
        Assert.True(peak - before < MaxGrowthBytes, $"the silo's peak memory grew by {peak - before} bytes during the export (limit {MaxGrowthBytes})");
    }

    /// <summary>The silo's schema, then a million ledger rows in one transaction, as the journal would have left them.</summary>
    private static async Task WriteLedgerAsync(string database)
    {
        await (SqliteJournalServices.Open(database)).DisposeAsync();
        await using var connection = new SqliteConnection($"Data Source={database}");
        await connection.OpenAsync();
        await using var transaction = connection.BeginTransaction();
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = """
            INSERT INTO ledger(reservation_id, chain, periods, labels, estimate_nanos, actual_nanos, model, input_tokens, cached_input_tokens,
                output_tokens, reasoning_tokens, outcome, late, overage, reserved_at_ms, committed_at_ms)
            VALUES($id, $chain, '[0,0,0]', $labels, 2000000, $actual, 'gpt-4o', $input, 0, $output, 0, 'resolved', 0, 0, $at - 800, $at)
            """;
        var (id, chain, labels, actual, input, outputTokens, at) = (insert.Parameters.Add("$id", SqliteType.Text), insert.Parameters.Add("$chain", SqliteType.Text),
            insert.Parameters.Add("$labels", SqliteType.Text), insert.Parameters.Add("$actual", SqliteType.Integer),
            insert.Parameters.Add("$input", SqliteType.Integer), insert.Parameters.Add("$output", SqliteType.Integer), insert.Parameters.Add("$at", SqliteType.Integer));
        insert.Prepare();
        var random = new Random(14);
        var start = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        for (var i = 0; i < Rows; i++)
        {
            id.Value = "large-" + i.ToString(CultureInfo.InvariantCulture);
            chain.Value = $"[\"tenant/t{i % 50}\",\"feature/f{i % 20}\",\"team/search\"]";
            labels.Value = $"{{\"provider\":\"openai\",\"environment\":\"prod\",\"prompt_version\":\"v{i % 7}\"}}";
            var tokens = random.Next(100, 4_000);
            (input.Value, outputTokens.Value, actual.Value) = (tokens, tokens / 4, tokens * 2_500L + tokens / 4 * 10_000L);
            at.Value = start + i * 2_000L;
            await insert.ExecuteNonQueryAsync();
        }
        await transaction.CommitAsync();
    }

    /// <summary>A "kB" field of /proc/PID/status, in bytes.</summary>
    private static long ProcStatus(int pid, string field)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    [GeneratedRegex(@"REST API on (http://[^ ]+?)api/v1/")]
    private static partial Regex RestAddress();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dataDir)) Directory.Delete(_dataDir, recursive: true);
    }
}
