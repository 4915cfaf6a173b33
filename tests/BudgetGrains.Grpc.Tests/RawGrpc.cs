using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;

namespace BudgetGrains.Grpc.Tests;

/// <summary>What a raw HTTP/2 gRPC exchange produced, read without the library's client.</summary>
internal sealed record RawResult(HttpStatusCode HttpStatus, bool TrailersOnly, string? GrpcStatus, string? GrpcMessage, string? ContentType, byte[] Body, HttpResponseMessage Response);

/// <summary>Sends hand-made gRPC request bodies, to test the server against malformed input.</summary>
internal static class RawGrpc
{
    public static byte[] Frame(byte flag, ReadOnlySpan<byte> message, int? declaredLength = null)
    {
        var frame = new byte[5 + message.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)(declaredLength ?? message.Length));
        message.CopyTo(frame.AsSpan(5));
        return frame;
    }

    public static byte[] Frame(IMessage message) => Frame(0, message.ToByteArray());

    public static Task<RawResult> PostAsync(HttpClient http, string path, byte[] body, string method = "POST", string contentType = "application/grpc", string? timeout = null) =>
        SendAsync(http, path, new ByteArrayContent(body), method, contentType, timeout);

    public static async Task<RawResult> SendAsync(HttpClient http, string path, HttpContent content, string method = "POST", string contentType = "application/grpc", string? timeout = null)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = content,
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TryAddWithoutValidation("te", "trailers");
        if (timeout is not null)
        {
            request.Headers.TryAddWithoutValidation("grpc-timeout", timeout);
        }

        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsByteArrayAsync();
        var trailersOnly = response.Headers.Contains("grpc-status");
        var source = trailersOnly ? (HttpHeaders)response.Headers : response.TrailingHeaders;
        return new RawResult(
            response.StatusCode,
            trailersOnly,
            Get(source, "grpc-status"),
            Get(source, "grpc-message"),
            response.Content.Headers.ContentType?.ToString(),
            body,
            response);
    }

    private static string? Get(HttpHeaders headers, string name) =>
        headers.NonValidated.TryGetValues(name, out var values) ? values.ToString() : null;
}
