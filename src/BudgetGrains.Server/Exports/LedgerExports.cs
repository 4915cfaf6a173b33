using System.Buffers;
using System.Runtime.CompilerServices;
using BudgetGrains.Grains;
using BudgetGrains.Grains.Meters;
using BudgetGrains.Grains.Scopes;
using BudgetGrains.Grains.Storage;
using Google.Protobuf;
using Grpc.Core;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Exports;

/// <summary>
/// ExportLedger and ExportUsage: the request checked whole before the first byte is sent (bad input is a status, never
/// a half file), then the store read a keyset page at a time and written out in chunks of whole rows. The stream's
/// flow control holds the reader back when the client is slow, so memory stays one page and one chunk whatever the size.
/// </summary>
internal sealed class LedgerExports(ILedgerExport store, IMeterStore meters)
{
    public const string Csv = "csv";
    public const string JsonLines = "jsonl";
    public const string Focus = "focus";

    public async Task ExportLedgerAsync(V1.ExportLedgerRequest request, IServerStreamWriter<V1.ExportChunk> stream, CancellationToken cancellationToken)
    {
        var (from, to) = Range(request.FromUnixMs, request.ToUnixMs);
        var currency = request.Currency.Length == 0 ? "USD" : request.Currency;
        if (!Iso4217.Codes.Contains(currency)) throw Invalid($"currency '{Auth.AgentTenancy.Short(currency)}' is not an ISO 4217 code");
        LedgerRowFormat format = request.Format switch
        {
            Csv => new LedgerRows(jsonLines: false),
            JsonLines => new LedgerRows(jsonLines: true),
            Focus => new FocusRows(currency),
            _ => throw Invalid($"format must be {Csv}, {JsonLines} or {Focus}, not '{Auth.AgentTenancy.Short(request.Format)}'"),
        };
        var commits = Pages<SequencedCommit>(async (last, ct) =>
        {
            var page = await store.ReadCommitsAsync(last?.Seq ?? 0, from, to, Limits.ExportPageRows, ct);
            // The page's meters in one query: the ledger's own rows stay as they are, and memory stays one page.
            format.PageMeters = await meters.ReadLedgerMetersAsync([.. page.Select(c => c.Entry.ReservationId)], ct);
            return page;
        }, cancellationToken);
        await StreamAsync(format, commits, stream, cancellationToken);
    }

    public async Task ExportUsageAsync(V1.ExportUsageRequest request, IServerStreamWriter<V1.ExportChunk> stream, CancellationToken cancellationToken)
    {
        var (from, to) = Range(request.FromUnixMs, request.ToUnixMs);
        if (request.ScopePrefix.Length > Limits.MaxScopeIdLength)
            throw Invalid($"scope_prefix is {request.ScopePrefix.Length} characters; no scope id is longer than {Limits.MaxScopeIdLength}");
        RowFormat<KeyedUsage> format = request.Format switch
        {
            Csv => new UsageRows(jsonLines: false),
            JsonLines => new UsageRows(jsonLines: true),
            _ => throw Invalid($"format must be {Csv} or {JsonLines} for usage, not '{Auth.AgentTenancy.Short(request.Format)}'"),
        };
        // The token usage rows, then the meters' (grouping "meter"): each table in its own key order.
        var usage = Pages<KeyedUsage>((last, ct) => store.ReadUsageAsync(last?.Where ?? UsageKey.First, request.ScopePrefix, from, to,
            Limits.ExportPageRows, ct), cancellationToken);
        var meterUsage = Pages<KeyedUsage>((last, ct) => store.ReadMeterUsageAsync(last?.Where ?? UsageKey.First, request.ScopePrefix, from, to,
            Limits.ExportPageRows, ct), cancellationToken);
        await StreamAsync(format, usage.Concat(meterUsage), stream, cancellationToken);
    }

    /// <summary>[from, to) with 0 meaning unbounded; an empty or negative range is bad input.</summary>
    private static (long From, long To) Range(long from, long to)
    {
        if (from < 0 || to < 0) throw Invalid("from_unix_ms and to_unix_ms must be 0 or more (0 = unbounded)");
        if (to == 0) to = long.MaxValue;
        if (to <= from) throw Invalid($"to_unix_ms ({to}) must be after from_unix_ms ({from})");
        return (from, to);
    }

    /// <summary>A table's rows, read a keyset page at a time: the next page is read once the rows of the last one were written.</summary>
    private static async IAsyncEnumerable<TRow> Pages<TRow>(Func<TRow?, CancellationToken, Task<IReadOnlyList<TRow>>> nextPage,
        [EnumeratorCancellation] CancellationToken cancellationToken) where TRow : class
    {
        TRow? last = null;
        while (true)
        {
            var page = await nextPage(last, cancellationToken);
            foreach (var row in page) yield return row;
            if (page.Count < Limits.ExportPageRows) yield break;
            last = page[^1];
        }
    }

    private static async Task StreamAsync<TRow>(RowFormat<TRow> format, IAsyncEnumerable<TRow> source,
        IServerStreamWriter<V1.ExportChunk> stream, CancellationToken cancellationToken) where TRow : class
    {
        var buffer = new ArrayBufferWriter<byte>(Limits.ExportChunkBytes + 4096);
        if (format.Header is { } header) Exports.Csv.Append(buffer, header);
        var rows = 0;
        var sent = false;
        await foreach (var row in source.WithCancellation(cancellationToken))
        {
            format.Write(row, buffer);
            rows++;
            if (buffer.WrittenCount < Limits.ExportChunkBytes) continue;
            await SendAsync();
        }
        // An empty export is still a file (a CSV header, or nothing): one chunk says its content type.
        if (buffer.WrittenCount > 0 || !sent) await SendAsync();

        async Task SendAsync()
        {
            await stream.WriteAsync(new V1.ExportChunk { ContentType = format.ContentType, Data = ByteString.CopyFrom(buffer.WrittenSpan), Rows = rows },
                cancellationToken);
            buffer.ResetWrittenCount();
            (rows, sent) = (0, true);
        }
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
