using System.Net;
using System.Net.Sockets;

namespace BudgetGrains.Client.Tests;

/// <summary>
/// A TCP proxy on loopback in front of the silo that can lose a response: once armed, it closes the connection when the
/// server starts answering a call (the first HTTP/2 HEADERS or DATA frame on a stream), so the request has reached the
/// server and been acted on, but the client never hears the answer. That is the case where a retry could double-charge.
/// It can also stall: hold back everything the server sends, keeping the connections open, as a stuck network does.
/// </summary>
internal sealed class DroppingProxy : IAsyncDisposable
{
    private const int FrameHeaderBytes = 9;
    private const byte DataFrame = 0x0;
    private const byte HeadersFrame = 0x1;

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Uri _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _sockets = [];
    private readonly Task _accepting;
    private int _armed;
    private int _connections;
    private int _dropped;
    private TaskCompletionSource? _stalled;

    public DroppingProxy(Uri target)
    {
        _target = target;
        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accepting = AcceptAsync();
    }

    public Uri Address { get; }

    /// <summary>Connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Responses lost so far.</summary>
    public int Dropped => Volatile.Read(ref _dropped);

    /// <summary>Loses the next response the server sends, by closing its connection.</summary>
    public void DropNextResponse() => Volatile.Write(ref _armed, 1);

    /// <summary>From now on, holds back every frame the server sends (connections stay open) until <see cref="Resume"/>.</summary>
    public void Stall() => Interlocked.CompareExchange(ref _stalled, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null);

    /// <summary>Delivers what was held back, and everything after.</summary>
    public void Resume() => Interlocked.Exchange(ref _stalled, null)?.TrySetResult();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_sockets)
        {
            foreach (var socket in _sockets) socket.Dispose();
        }
        await _accepting;
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _connections);
            var server = new TcpClient();
            lock (_sockets)
            {
                _sockets.Add(client);
                _sockets.Add(server);
            }
            _ = PumpAsync(client, server);
        }
    }

    private async Task PumpAsync(TcpClient client, TcpClient server)
    {
        try
        {
            await server.ConnectAsync(_target.Host, _target.Port, _stop.Token);
            await Task.WhenAny(
                client.GetStream().CopyToAsync(server.GetStream(), _stop.Token),
                ForwardFramesAsync(server.GetStream(), client.GetStream()));
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // One side went away; closing both below is all there is to do.
        }
        finally
        {
            client.Dispose();
            server.Dispose();
        }
    }

    /// <summary>Server to client, frame by frame, so that a response can be cut off before its first frame.</summary>
    private async Task ForwardFramesAsync(NetworkStream from, NetworkStream to)
    {
        var header = new byte[FrameHeaderBytes];
        while (true)
        {
            await from.ReadExactlyAsync(header, _stop.Token);
            var length = (header[0] << 16) | (header[1] << 8) | header[2];
            var type = header[3];
            var streamId = ((header[5] & 0x7F) << 24) | (header[6] << 16) | (header[7] << 8) | header[8];
            var payload = new byte[length];
            await from.ReadExactlyAsync(payload, _stop.Token);
            if (type is DataFrame or HeadersFrame && streamId != 0 && Interlocked.Exchange(ref _armed, 0) == 1)
            {
                Interlocked.Increment(ref _dropped);
                return;
            }

            if (Volatile.Read(ref _stalled) is { } stalled) await stalled.Task.WaitAsync(_stop.Token);
            await to.WriteAsync(header, _stop.Token);
            await to.WriteAsync(payload, _stop.Token);
        }
    }
}
