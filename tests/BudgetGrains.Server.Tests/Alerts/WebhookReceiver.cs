using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace BudgetGrains.Server.Tests.Alerts;

/// <summary>A POST a webhook receiver got, and the status it answered with.</summary>
internal sealed record ReceivedPost(string AlertId, string ContentType, JsonElement Body, int Status);

/// <summary>
/// A real HTTP/1.1 listener on loopback (Kestrel) standing in for a webhook target: it records every POST and answers
/// with the status <see cref="Answer"/> gives for the request's number (1 for the first).
/// </summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedPost> _posts = new();
    private int _count;

    private WebhookReceiver(WebApplication app) => _app = app;

    /// <summary>The status for the nth POST (1-based); 200 by default.</summary>
    public Func<int, int> Answer { get; set; } = _ => StatusCodes.Status200OK;

    public Uri Url { get; private set; } = null!;

    public IReadOnlyList<ReceivedPost> Posts => [.. _posts];

    /// <param name="port">0 for a free port; a given one to listen where a silo was already told to deliver.</param>
    public static async Task<WebhookReceiver> StartAsync(int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var receiver = new WebhookReceiver(builder.Build());
        receiver._app.MapPost("/hook", receiver.ReceiveAsync);
        await receiver._app.StartAsync();
        var address = receiver._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        receiver.Url = new Uri(new Uri(address), "/hook");
        return receiver;
    }

    /// <summary>A loopback port nothing listens on (a receiver started there and stopped again), for a webhook that is down.</summary>
    public static async Task<int> UnusedPortAsync()
    {
        await using var probe = await StartAsync();
        return probe.Url.Port;
    }

    /// <summary>Waits until a POST matches; null when none did in time.</summary>
    public async Task<ReceivedPost?> WaitForAsync(Func<ReceivedPost, bool> match, TimeSpan within)
    {
        ReceivedPost? found = null;
        await Eventually.HoldsAsync(() => Task.FromResult((found = _posts.FirstOrDefault(match)) is not null), within);
        return found;
    }

    private async Task ReceiveAsync(HttpContext context)
    {
        var body = await JsonDocument.ParseAsync(context.Request.Body);
        var status = Answer(Interlocked.Increment(ref _count));
        _posts.Enqueue(new ReceivedPost(context.Request.Headers["X-BudgetGrains-Alert-Id"].ToString(), context.Request.ContentType ?? "",
            body.RootElement.Clone(), status));
        context.Response.StatusCode = status;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
