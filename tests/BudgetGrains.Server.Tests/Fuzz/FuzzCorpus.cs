using System.Buffers.Binary;
using System.Collections;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BudgetGrains.Server.Rest;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Tests.Fuzz;

/// <summary>One unary rpc of the budget.v1 services, as the fuzz corpus names it.</summary>
internal sealed record FuzzRpc(string Service, string Method, MessageDescriptor Input)
{
    /// <summary>The gRPC path, "/budget.v1.Admission/Reserve".</summary>
    public string Path => $"/{Service}/{Method}";

    /// <summary>The corpus directory of the rpc, "budget.v1.Admission.Reserve".</summary>
    public string Directory => $"{Service}.{Method}";
}

/// <summary>One REST case of the corpus: a request as raw as HTTP allows.</summary>
internal sealed record RestCase(string Name, string Method, string Path, string? ContentType, byte[] Body);

/// <summary>
/// The checked-in fuzz corpus (tests/BudgetGrains.Server.Tests/Fuzz/corpus) and its generator. The generator is
/// deterministic (a fixed seed and a stable hash per rpc), so regenerating gives the same files; it was run once and its
/// output committed (see <see cref="FuzzCorpusTests.RegenerateCorpus"/>). Hand-written cases sit beside the generated
/// ones as <c>hand-*.hex</c> (gRPC bodies in hex, frame header included) and <c>rest/hand-*.json</c>.
/// <para>
/// Every base message is filled with values the server refuses (strings with a space and a '!', which no scope, tenant,
/// model or key may contain), so a mutation that still parses is refused by validation or reads only: bad input of any
/// shape must change nothing, and the test compares store snapshots to prove it.
/// </para>
/// </summary>
internal static class FuzzCorpus
{
    public const int Seed = 20261201;

    /// <summary>The categories of gRPC cases; each rpc has at least one of each.</summary>
    public static readonly string[] GrpcCategories = ["truncated", "wire-type", "huge-length", "unknown-field", "deep-nesting", "frame"];

    public static string Root => System.IO.Path.Combine(Components.RepositoryRoot, "tests", "BudgetGrains.Server.Tests", "Fuzz", "corpus");

    /// <summary>Every unary rpc of every budget.v1 service, from the service descriptors.</summary>
    public static IReadOnlyList<FuzzRpc> UnaryRpcs() =>
    [
        .. new[] { V1.AdmissionReflection.Descriptor, V1.ManagementReflection.Descriptor, V1.AlertsReflection.Descriptor }
            .SelectMany(file => file.Services)
            .SelectMany(service => service.Methods
                .Where(m => !m.IsClientStreaming && !m.IsServerStreaming)
                .Select(m => new FuzzRpc(service.FullName, m.Name, m.InputType))),
    ];

    /// <summary>The gRPC cases of an rpc: (name, HTTP/2 request body with its 5-byte frame header).</summary>
    public static IEnumerable<(string Name, byte[] Body)> GrpcCases(FuzzRpc rpc)
    {
        var directory = System.IO.Path.Combine(Root, "grpc", rpc.Directory);
        if (!System.IO.Directory.Exists(directory)) yield break;
        foreach (var file in System.IO.Directory.GetFiles(directory).Order(StringComparer.Ordinal))
        {
            var name = System.IO.Path.GetFileName(file);
            if (file.EndsWith(".bin", StringComparison.Ordinal)) yield return (name, File.ReadAllBytes(file));
            else if (file.EndsWith(".hex", StringComparison.Ordinal)) yield return (name, FromHex(File.ReadAllText(file)));
        }
    }

    public static IEnumerable<RestCase> RestCases()
    {
        foreach (var file in System.IO.Directory.GetFiles(System.IO.Path.Combine(Root, "rest"), "*.json").Order(StringComparer.Ordinal))
        {
            var json = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
            var body = json["bodyBase64"] is { } b64 ? Convert.FromBase64String(b64.GetValue<string>())
                : json["body"] is { } text ? Encoding.UTF8.GetBytes(text.GetValue<string>()) : [];
            yield return new RestCase(System.IO.Path.GetFileName(file), json["method"]!.GetValue<string>(), json["path"]!.GetValue<string>(),
                json["contentType"]?.GetValue<string>(), body);
        }
    }

    /// <summary>Hex bytes, whitespace between them allowed; '#' starts a comment to the end of the line.</summary>
    public static byte[] FromHex(string text)
    {
        var digits = new StringBuilder();
        foreach (var line in text.Split('\n'))
        {
            var content = line.Split('#')[0];
            foreach (var c in content) if (Uri.IsHexDigit(c)) digits.Append(c);
        }
        return Convert.FromHexString(digits.ToString());
    }

    // ---- the generator ------------------------------------------------------------------------------------------

    /// <summary>Writes the generated part of the corpus (hand-written files are kept).</summary>
    public static int Generate()
    {
        var written = 0;
        var grpcRoot = System.IO.Path.Combine(Root, "grpc");
        foreach (var rpc in UnaryRpcs())
        {
            var directory = System.IO.Path.Combine(grpcRoot, rpc.Directory);
            System.IO.Directory.CreateDirectory(directory);
            foreach (var old in System.IO.Directory.GetFiles(directory, "*.bin")) File.Delete(old);
            foreach (var (name, body) in GenerateGrpc(rpc))
            {
                File.WriteAllBytes(System.IO.Path.Combine(directory, name + ".bin"), body);
                written++;
            }
        }
        var restRoot = System.IO.Path.Combine(Root, "rest");
        System.IO.Directory.CreateDirectory(restRoot);
        foreach (var old in System.IO.Directory.GetFiles(restRoot, "gen-*.json")) File.Delete(old);
        foreach (var c in GenerateRest())
        {
            var json = new JsonObject
            {
                ["method"] = c.Method,
                ["path"] = c.Path,
                ["contentType"] = c.ContentType,
            };
            if (IsUtf8(c.Body)) json["body"] = Encoding.UTF8.GetString(c.Body);
            else json["bodyBase64"] = Convert.ToBase64String(c.Body);
            File.WriteAllText(System.IO.Path.Combine(restRoot, c.Name + ".json"), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            written++;
        }
        return written;
    }

    private static bool IsUtf8(byte[] bytes)
    {
        try
        {
            _ = new UTF8Encoding(false, true).GetString(bytes);
            return bytes.Length < 4096;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    /// <summary>FNV-1a: a hash that is the same in every process (string.GetHashCode is not).</summary>
    private static int StableHash(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text) hash = (hash ^ c) * 16777619u;
        return (int)(hash & 0x7FFFFFFF);
    }

    private static IEnumerable<(string Name, byte[] Body)> GenerateGrpc(FuzzRpc rpc)
    {
        var rng = new Random(Seed ^ StableHash(rpc.Path));
        var message = Fill(rpc.Input, rng, depth: 0);
        var bytes = message.ToByteArray();
        var records = Records(bytes);

        // Truncated: the frame says how long the message is, the message stops inside a field.
        for (var i = 0; i < 4; i++)
        {
            var cut = bytes.Length <= 1 ? 0 : rng.Next(1, bytes.Length);
            var lengthDelimited = records.Where(r => r.WireType == 2 && r.End - r.PayloadStart > 1).ToList();
            if (lengthDelimited.Count > 0 && i % 2 == 0)
            {
                var r = lengthDelimited[rng.Next(lengthDelimited.Count)];
                cut = rng.Next(r.PayloadStart, r.End);
            }
            else if (records.Count > 0 && i == 3)
            {
                cut = records[0].PayloadStart - 1; // inside the first tag or length
                if (cut <= 0) cut = 1;
            }
            // A message of a single byte is cut into a lone tag byte, which never parses either.
            yield return ($"truncated-{i}", Frame(bytes.Length <= 1 ? [0x0A] : bytes[..Math.Max(1, cut)]));
        }

        // Wrong wire types: a field's tag rewritten with another wire type, its bytes kept.
        int[] otherTypes = [0, 1, 2, 5, 3, 4, 6, 7];
        for (var i = 0; i < 4; i++)
        {
            if (records.Count == 0)
            {
                yield return ($"wire-type-{i}", Frame([Tag(1, otherTypes[4 + i % 4]), 0x01]));
                continue;
            }
            var r = records[rng.Next(records.Count)];
            var wire = otherTypes.Where(t => t != r.WireType).ElementAt(rng.Next(otherTypes.Length - 1));
            var mutated = new List<byte>(bytes[..r.Start]);
            mutated.AddRange(Varint(((ulong)r.Field << 3) | (uint)wire));
            mutated.AddRange(bytes[r.TagEnd..]);
            yield return ($"wire-type-{i}", Frame([.. mutated]));
        }

        // Huge lengths: a length-delimited field whose length runs far past the message (or past any int).
        ulong[] huge = [0x7FFFFFFF, 0xFFFFFFFF, ulong.MaxValue];
        for (var i = 0; i < huge.Length; i++)
        {
            var ld = records.FirstOrDefault(r => r.WireType == 2);
            var mutated = new List<byte>();
            if (ld is null)
            {
                mutated.AddRange(Varint((1ul << 3) | 2));
                mutated.AddRange(Varint(huge[i]));
                mutated.Add(0x41);
            }
            else
            {
                mutated.AddRange(bytes[..ld.TagEnd]);
                mutated.AddRange(Varint(huge[i]));
                mutated.AddRange(bytes[ld.PayloadStart..]);
            }
            yield return ($"huge-length-{i}", Frame([.. mutated]));
        }

        // Unknown fields: numbers no budget.v1 message uses, of every wire type, after a (refused) message and alone.
        var junk = new byte[1024];
        rng.NextBytes(junk);
        yield return ("unknown-field-0", Frame([.. bytes, .. Varint((1000ul << 3) | 0), .. Varint(12345)]));
        yield return ("unknown-field-1", Frame([.. bytes, .. Varint((1001ul << 3) | 2), .. Varint((ulong)junk.Length), .. junk]));
        yield return ("unknown-field-2", Frame([
            .. Varint((1002ul << 3) | 1), 1, 2, 3, 4, 5, 6, 7, 8,
            .. Varint((1003ul << 3) | 5), 1, 2, 3, 4,
            .. Varint((536870911ul << 3) | 0), 1, // the largest field number
        ]));

        // Deep nesting: groups nested past the parser's recursion limit, and length-delimited unknown fields nested
        // 300 deep (skipped whole by the parser).
        var groups = new List<byte>();
        for (var i = 0; i < 200; i++) groups.AddRange(Varint((1004ul << 3) | 3));
        for (var i = 0; i < 200; i++) groups.AddRange(Varint((1004ul << 3) | 4));
        yield return ("deep-nesting-0", Frame([.. groups]));
        byte[] nested = [0x08, 0x01];
        for (var i = 0; i < 300; i++) nested = [.. Varint((1005ul << 3) | 2), .. Varint((ulong)nested.Length), .. nested];
        yield return ("deep-nesting-1", Frame(nested));

        // Frames: compressed without grpc-encoding, shorter or longer than it says, over the size limit, cut in its
        // header, empty, and a second message in a unary call.
        yield return ("frame-compressed", [1, .. Length(bytes.Length), .. bytes]);
        yield return ("frame-longer-than-sent", [0, .. Length(bytes.Length + 100), .. bytes]);
        yield return ("frame-over-size-limit", [0, .. Length(int.MaxValue), .. bytes]);
        yield return ("frame-cut-header", [0, 0, 0]);
        yield return ("frame-empty", []);
        yield return ("frame-two-messages", [.. Frame(bytes), .. Frame(bytes)]);
    }

    private static byte[] Length(int length)
    {
        var header = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(header, length);
        return header;
    }

    /// <summary>The 5-byte gRPC frame header (not compressed, big-endian length) and the message.</summary>
    public static byte[] Frame(byte[] message) => [0, .. Length(message.Length), .. message];

    private static byte Tag(int field, int wireType) => (byte)((field << 3) | wireType);

    private static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>(10);
        do
        {
            var b = (byte)(value & 0x7F);
            value >>= 7;
            bytes.Add(value == 0 ? b : (byte)(b | 0x80));
        }
        while (value != 0);
        return [.. bytes];
    }

    /// <summary>A top-level field of a serialized message: where its tag starts and ends, where its payload starts, where it ends.</summary>
    private sealed record Record(int Field, int WireType, int Start, int TagEnd, int PayloadStart, int End);

    private static List<Record> Records(byte[] bytes)
    {
        var records = new List<Record>();
        var at = 0;
        while (at < bytes.Length)
        {
            var start = at;
            var tag = ReadVarint(bytes, ref at);
            var tagEnd = at;
            var (field, wire) = ((int)(tag >> 3), (int)(tag & 7));
            var payloadStart = at;
            switch (wire)
            {
                case 0: ReadVarint(bytes, ref at); break;
                case 1: at += 8; break;
                case 2:
                    var length = (int)ReadVarint(bytes, ref at);
                    payloadStart = at;
                    at += length;
                    break;
                case 5: at += 4; break;
                default: throw new InvalidOperationException($"wire type {wire} in a message the generator serialized");
            }
            records.Add(new Record(field, wire, start, tagEnd, payloadStart, at));
        }
        return records;
    }

    private static ulong ReadVarint(byte[] bytes, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = bytes[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
    }

    /// <summary>A message with every field set (nested messages three levels deep), strings to values the server refuses.</summary>
    private static IMessage Fill(MessageDescriptor descriptor, Random rng, int depth)
    {
        var message = (IMessage)Activator.CreateInstance(descriptor.ClrType)!;
        foreach (var field in descriptor.Fields.InDeclarationOrder())
        {
            if (field.IsMap)
            {
                var map = (IDictionary)field.Accessor.GetValue(message);
                var entry = field.MessageType;
                map[Value(entry.FindFieldByNumber(1), rng, depth)!] = Value(entry.FindFieldByNumber(2), rng, depth);
            }
            else if (field.IsRepeated)
            {
                var list = (IList)field.Accessor.GetValue(message);
                for (var i = 0; i < 2; i++)
                    if (Value(field, rng, depth) is { } v) list.Add(v);
            }
            else if (Value(field, rng, depth) is { } value)
            {
                field.Accessor.SetValue(message, value);
            }
        }
        return message;
    }

    private static object? Value(FieldDescriptor field, Random rng, int depth) => field.FieldType switch
    {
        FieldType.String => $"fuzz !{rng.Next(1000)}",
        FieldType.Bytes => ByteString.CopyFrom(1, 2, 3),
        FieldType.Bool => true,
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => rng.Next(1, 1000),
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => rng.NextInt64(1, 1_000_000_000),
        FieldType.UInt32 or FieldType.Fixed32 => (uint)rng.Next(1, 1000),
        FieldType.UInt64 or FieldType.Fixed64 => (ulong)rng.NextInt64(1, 1_000_000_000),
        FieldType.Double => 1.5,
        FieldType.Float => 1.5f,
        FieldType.Enum => Enum.ToObject(field.EnumType.ClrType, field.EnumType.Values.Select(v => v.Number).DefaultIfEmpty(0).Max()),
        FieldType.Message when depth < 3 => Fill(field.MessageType, rng, depth + 1),
        _ => null,
    };

    /// <summary>Mutated REST calls for every route of the mirror: wrong types, huge numbers, duplicate keys, wrong
    /// content types, deep nesting, not JSON. Path values are ones the server refuses, so nothing that parses changes
    /// anything either.</summary>
    private static IEnumerable<RestCase> GenerateRest()
    {
        var rng = new Random(Seed);
        var services = new[] { (V1.Admission.Descriptor, AdmissionRoutes.All), (V1.Management.Descriptor, ManagementRoutes.All) };
        var index = 0;
        foreach (var (service, routes) in services)
        {
            foreach (var route in routes)
            {
                var method = service.FindMethodByName(route.Rpc);
                var path = RestMirror.Root + BadPath(route.Template);
                var slug = $"{route.Method.ToLowerInvariant()}-{route.Rpc}";
                var input = method.InputType;
                var bodyType = route.Body is null or "*" ? input : input.FindFieldByName(route.Body).MessageType;
                var fields = bodyType.Fields.InDeclarationOrder().Where(f => f.JsonName != PathFieldName(route.Template)).ToList();
                RestCase Case(string category, string? contentType, string body) =>
                    new($"gen-{index++:D3}-{slug}-{category}", route.Method, path, contentType, Encoding.UTF8.GetBytes(body));

                if (route.Body is null)
                {
                    // A route without a body: a body anyway, and query values of the wrong type or unknown.
                    yield return Case("body-on-bodyless", "application/json", """{"scope": "x"}""");
                    yield return Case("query-unknown", null, "") with { Path = path + "?fuzz=1" };
                    if (input.FindFieldByName("page_size") is not null)
                    {
                        yield return Case("query-wrong-type", null, "") with { Path = path + "?page_size=abc" };
                        yield return Case("query-huge-number", null, "") with { Path = path + "?page_size=99999999999999999999" };
                        yield return Case("query-twice", null, "") with { Path = path + "?page_size=1&page_size=2" };
                    }
                    continue;
                }

                // Wrong types: each field given a JSON value of the wrong kind (a string field a number, a number an
                // object, a message a string...), at most eight fields per route.
                foreach (var field in fields.Take(8))
                    yield return Case($"wrong-type-{field.Name}", "application/json", $"{{\"{field.JsonName}\": {WrongValue(field, rng)}}}");

                // Huge numbers: past int64, past double, fractional, negative past int64.
                var number = fields.FirstOrDefault(f => f.FieldType is FieldType.Int64 or FieldType.Int32 && !f.IsRepeated);
                if (number is not null)
                {
                    foreach (var (n, huge) in new[] { "99999999999999999999", "1e400", "1.5", "-9223372036854775809", "\"18446744073709551616\"" }.Index())
                        yield return Case($"huge-number-{n}", "application/json", $"{{\"{number.JsonName}\": {huge}}}");
                }

                // Duplicate keys: the same property twice, and one field under both its names.
                var first = fields.FirstOrDefault();
                if (first is not null)
                {
                    var sample = SampleValue(first);
                    yield return Case("duplicate-key", "application/json", $"{{\"{first.JsonName}\": {sample}, \"{first.JsonName}\": {sample}}}");
                    var twoNames = fields.FirstOrDefault(f => f.Name != f.JsonName);
                    if (twoNames is not null)
                        yield return Case("duplicate-name", "application/json", $"{{\"{twoNames.Name}\": {SampleValue(twoNames)}, \"{twoNames.JsonName}\": {SampleValue(twoNames)}}}");
                }

                // Wrong content types, and none.
                foreach (var (n, type) in new[] { "text/plain", "application/x-www-form-urlencoded", "application/grpc", "multipart/form-data; boundary=x", "application/xml" }.Index())
                    yield return Case($"content-type-{n}", type, "{}");
                yield return Case("content-type-none", null, "{}");

                // Deep nesting, not an object, not JSON at all, invalid UTF-8, a field nobody has.
                yield return Case("deep-array", "application/json", new string('[', 5000) + new string(']', 5000));
                yield return Case("deep-object", "application/json", string.Concat(Enumerable.Repeat("{\"a\":", 2000)) + "1" + new string('}', 2000));
                yield return Case("not-an-object", "application/json", "[1, 2, 3]");
                yield return Case("truncated", "application/json", first is null ? "{\"" : $"{{\"{first.JsonName}\": ");
                yield return Case("unknown-field", "application/json", """{"fuzzField": 1}""");
                yield return new RestCase($"gen-{index++:D3}-{slug}-invalid-utf8", route.Method, path, "application/json", [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D]);
            }
        }
    }

    /// <summary>The template with its bound value replaced by one the server refuses ("team/fuzz !" as a scope).</summary>
    private static string BadPath(string template)
    {
        var open = template.IndexOf('{', StringComparison.Ordinal);
        if (open < 0) return template;
        var close = template.IndexOf('}', open);
        var value = template[(open + 1)..close].StartsWith("**", StringComparison.Ordinal) ? "team/fuzz%20!" : "fuzz%20!";
        return template[..open] + value + template[(close + 1)..];
    }

    private static string? PathFieldName(string template)
    {
        var open = template.IndexOf('{', StringComparison.Ordinal);
        if (open < 0) return null;
        var name = template[(open + 1)..template.IndexOf('}', open)].TrimStart('*');
        return ToJsonName(name.Split('.')[^1]);
    }

    private static string ToJsonName(string name)
    {
        var result = new StringBuilder();
        var upper = false;
        foreach (var c in name)
        {
            if (c == '_') upper = true;
            else
            {
                result.Append(upper ? char.ToUpperInvariant(c) : c);
                upper = false;
            }
        }
        return result.ToString();
    }

    private static string WrongValue(FieldDescriptor field, Random rng)
    {
        if (field.IsRepeated) return "{\"not\": \"a list\"}";
        return field.FieldType switch
        {
            FieldType.String => rng.Next(2) == 0 ? "12345" : "{\"nested\": true}",
            FieldType.Bool => "\"yes\"",
            FieldType.Enum => "\"NOT_A_VALUE\"",
            FieldType.Message => "\"a string\"",
            _ => rng.Next(2) == 0 ? "\"abc\"" : "[1]",
        };
    }

    private static string SampleValue(FieldDescriptor field)
    {
        if (field.IsRepeated) return "[]";
        return field.FieldType switch
        {
            FieldType.String => "\"fuzz !\"",
            FieldType.Bool => "true",
            FieldType.Enum => "0",
            FieldType.Message => "{}",
            _ => "1",
        };
    }
}
