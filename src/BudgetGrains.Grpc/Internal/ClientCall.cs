using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Google.Protobuf;

namespace BudgetGrains.Grpc.Internal;

/// <summary>
/// One client call: sends the request, reads response messages, reads the status, and turns every failure
/// (HTTP, transport, deadline, cancellation) into an <see cref="RpcException"/>.
/// </summary>
internal sealed class ClientCall<TResponse> : IDisposable
    where TResponse : IMessage<TResponse>
{
    private const string UserAgent = "grpc-csharp-budgetgrains/1.0";

    /// <summary>Timers cannot be armed further out than this; a later deadline is sent but not enforced locally.</summary>
    private static readonly TimeSpan MaxTimerDelay = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly GrpcChannel _channel;
    private readonly string _path;
    private readonly MessageParser<TResponse> _parser;
    private readonly CallOptions _options;
    private readonly CancellationToken _enumerationToken;
    private readonly CancellationTokenSource? _source;
    private readonly CancellationToken _token;
    private readonly byte[] _header = ArrayPool<byte>.Shared.Rent(GrpcFraming.HeaderSize);
    private HttpRequestMessage? _request;
    private HttpResponseMessage? _response;
    private Stream? _body;
    private bool _trailersOnly;

    public ClientCall(GrpcChannel channel, string path, MessageParser<TResponse> parser, CallOptions options, CancellationToken enumerationToken)
    {
        _channel = channel;
        _path = path;
        _parser = parser;
        _options = options;
        _enumerationToken = enumerationToken;

        var callerToken = options.CancellationToken;
        if (options.Deadline is not null || (callerToken.CanBeCanceled && enumerationToken.CanBeCanceled))
        {
            _source = CancellationTokenSource.CreateLinkedTokenSource(callerToken, enumerationToken);
            _token = _source.Token;
        }
        else
        {
            // No deadline and at most one token: use it directly and save the linked source.
            _token = callerToken.CanBeCanceled ? callerToken : enumerationToken;
        }
    }

    public async Task StartAsync(IMessage request)
    {
        if (_options.Deadline is { } deadline)
        {
            var remaining = deadline - DateTimeOffset.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                throw new RpcException(StatusCode.DeadlineExceeded, "Deadline Exceeded");
            }

            if (remaining <= MaxTimerDelay)
            {
                _source!.CancelAfter(remaining);
            }
        }

        try
        {
            _request = CreateRequest(request);
            _response = await _channel.Invoker.SendAsync(_request, _token).ConfigureAwait(false);
            CheckResponseHeaders(_response);
            if (!_trailersOnly)
            {
                _body = await _response.Content.ReadAsStreamAsync(_token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Translate(e);
        }
    }

    /// <summary>Reads the next response message; null at the end of the body (or for a Trailers-Only response).</summary>
    public async ValueTask<TResponse?> ReadNextAsync()
    {
        if (_body is null)
        {
            return default;
        }

        try
        {
            var read = await _body.ReadAtLeastAsync(_header.AsMemory(0, GrpcFraming.HeaderSize), GrpcFraming.HeaderSize, throwOnEndOfStream: false, _token).ConfigureAwait(false);
            if (read == 0)
            {
                return default;
            }

            if (read < GrpcFraming.HeaderSize)
            {
                throw new RpcException(StatusCode.Internal, "response body ended inside a message prefix");
            }

            var length = GrpcFraming.ReadHeader(_header.AsSpan(0, GrpcFraming.HeaderSize), _channel.Options.MaxReceiveMessageBytes);
            var buffer = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                read = await _body.ReadAtLeastAsync(buffer.AsMemory(0, length), length, throwOnEndOfStream: false, _token).ConfigureAwait(false);
                if (read < length)
                {
                    throw new RpcException(StatusCode.Internal, "response body ended inside a message");
                }

                return _parser.ParseFrom(new ReadOnlySequence<byte>(buffer, 0, length));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new RpcException(StatusCode.Internal, "response message could not be parsed", e);
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw Translate(e);
        }
    }

    /// <summary>Throws the call's status unless it is OK. Call after the body was read to its end.</summary>
    public void ThrowIfStatusNotOk()
    {
        var response = _response!;
        var source = _trailersOnly ? response.Headers : response.TrailingHeaders;
        var (code, detail) = ReadStatus(source);
        if (code != StatusCode.OK)
        {
            throw new RpcException(code, detail);
        }
    }

    /// <summary>The response trailers other than the protocol's own (grpc-*). Call after the body was read to its end.</summary>
    public IReadOnlyDictionary<string, string> ResponseTrailers()
    {
        var response = _response!;
        var trailers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in (_trailersOnly ? response.Headers : response.TrailingHeaders).NonValidated)
        {
            if (!name.StartsWith("grpc-", StringComparison.OrdinalIgnoreCase)) trailers[name] = values.ToString();
        }

        return trailers;
    }

    public void Dispose()
    {
        // Disposing a response whose body was not read to the end resets the stream, which cancels the call on the server.
        _response?.Dispose();
        _request?.Dispose();
        _source?.Dispose();
        ArrayPool<byte>.Shared.Return(_header);
    }

    /// <summary>The gRPC code for a non-200 HTTP status (doc/http-grpc-status-mapping.md).</summary>
    internal static StatusCode MapHttpStatus(HttpStatusCode status) => status switch
    {
        HttpStatusCode.BadRequest => StatusCode.Internal,
        HttpStatusCode.Unauthorized => StatusCode.Unauthenticated,
        HttpStatusCode.Forbidden => StatusCode.PermissionDenied,
        HttpStatusCode.NotFound => StatusCode.Unimplemented,
        HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };

    private HttpRequestMessage CreateRequest(IMessage message)
    {
        var size = message.CalculateSize();
        var maxSend = _channel.Options.MaxSendMessageBytes;
        if (size > maxSend)
        {
            throw new RpcException(StatusCode.ResourceExhausted, $"request message larger than max ({size} vs. {maxSend})");
        }

        var payload = new byte[GrpcFraming.HeaderSize + size];
        GrpcFraming.WriteHeader(payload, size);
        message.WriteTo(payload.AsSpan(GrpcFraming.HeaderSize));

        var content = new ByteArrayContent(payload);
        content.Headers.TryAddWithoutValidation("Content-Type", GrpcProtocol.ContentType);

        var request = new HttpRequestMessage(HttpMethod.Post, _channel.UriFor(_path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        var headers = request.Headers;
        headers.TryAddWithoutValidation("TE", "trailers");
        headers.TryAddWithoutValidation("User-Agent", UserAgent);
        if (_options.Deadline is { } deadline)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(deadline - DateTimeOffset.UtcNow));
        }

        if (_options.Headers is { } custom)
        {
            foreach (var pair in custom)
            {
                headers.TryAddWithoutValidation(pair.Key, pair.Value);
            }
        }

        return request;
    }

    private void CheckResponseHeaders(HttpResponseMessage response)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var code = MapHttpStatus(response.StatusCode);
            throw new RpcException(code, $"Bad gRPC response. HTTP status code: {(int)response.StatusCode}");
        }

        if (response.Headers.NonValidated.Contains(GrpcProtocol.StatusHeader))
        {
            _trailersOnly = true;
            ThrowIfStatusNotOk();
            return;
        }

        var contentType = response.Content.Headers.NonValidated.TryGetValues("Content-Type", out var values) ? values.ToString() : null;
        if (!GrpcProtocol.IsGrpcContentType(contentType))
        {
            throw new RpcException(StatusCode.Internal, $"Bad gRPC response. Invalid content-type value: {contentType}");
        }
    }

    private static (StatusCode Code, string Detail) ReadStatus(HttpHeaders headers)
    {
        var nonValidated = headers.NonValidated;
        if (!nonValidated.TryGetValues(GrpcProtocol.StatusHeader, out var statusValues))
        {
            // The spec asks clients to synthesize a status when a broken peer omits it.
            return (StatusCode.Internal, "server closed the stream without sending a grpc-status");
        }

        var statusText = statusValues.ToString();
        if (!int.TryParse(statusText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var status))
        {
            return (StatusCode.Internal, $"malformed grpc-status: {statusText}");
        }

        var detail = nonValidated.TryGetValues(GrpcProtocol.MessageHeader, out var messageValues)
            ? PercentEncoding.Decode(messageValues.ToString())
            : string.Empty;
        return ((StatusCode)status, detail);
    }

    private RpcException Translate(Exception e)
    {
        if (_options.CancellationToken.IsCancellationRequested || _enumerationToken.IsCancellationRequested)
        {
            return new RpcException(StatusCode.Cancelled, "Call canceled by the client.", e);
        }

        if (_source is { IsCancellationRequested: true })
        {
            // Only the deadline timer cancels the source without cancelling a caller token.
            return new RpcException(StatusCode.DeadlineExceeded, "Deadline Exceeded", e);
        }

        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is HttpProtocolException protocol)
            {
                return MapStreamReset(protocol);
            }
        }

        return e switch
        {
            OperationCanceledException => new RpcException(StatusCode.Cancelled, "Call canceled.", e),
            HttpRequestException or IOException or SocketException => new RpcException(StatusCode.Unavailable, $"Error connecting to or talking with {_channel.Address}: {e.Message}", e),
            _ => new RpcException(StatusCode.Internal, $"Error in gRPC call: {e.Message}", e),
        };
    }

    /// <summary>RST_STREAM / GOAWAY error codes to gRPC codes, per the table in PROTOCOL-HTTP2.md.</summary>
    private static RpcException MapStreamReset(HttpProtocolException e)
    {
        const long RefusedStream = 0x7;
        const long Cancel = 0x8;
        const long EnhanceYourCalm = 0xB;
        const long InadequateSecurity = 0xC;
        var code = e.ErrorCode switch
        {
            RefusedStream => StatusCode.Unavailable,
            Cancel => StatusCode.Cancelled,
            EnhanceYourCalm => StatusCode.ResourceExhausted,
            InadequateSecurity => StatusCode.PermissionDenied,
            _ => StatusCode.Internal,
        };
        return new RpcException(code, $"HTTP/2 stream reset by the server (error code {e.ErrorCode}): {e.Message}", e);
    }
}
