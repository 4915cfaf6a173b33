using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using BudgetGrains.Server.Hosting;
using Google.Protobuf;

namespace BudgetGrains.Server.Tests.Rest;

/// <summary>Plain HTTP/1.1 calls to a silo's REST endpoint, as curl or a browser would make them.</summary>
internal sealed class RestCalls : IDisposable
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));
    private readonly HttpClient _http;

    public RestCalls(Silo silo)
    {
        Assert.NotNull(silo.HttpAddress);
        _http = new HttpClient
        {
            BaseAddress = silo.HttpAddress,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    /// <summary>Sends <paramref name="json"/> (if any) as application/json unless <paramref name="contentType"/> says otherwise.</summary>
    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? json = null, string contentType = "application/json")
    {
        var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        return _http.SendAsync(request);
    }

    /// <summary>A successful call's response, parsed as the rpc's response message (strictly: no unknown fields).</summary>
    public async Task<T> CallAsync<T>(HttpMethod method, string path, string? json = null) where T : IMessage, new()
    {
        using var response = await SendAsync(method, path, json);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method} {path}: {(int)response.StatusCode} {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpVersion.Version11, response.Version);
        return Parser.Parse<T>(body);
    }

    /// <summary>Asserts the one error body shape and returns its message.</summary>
    public async Task<string> ErrorAsync(HttpMethod method, string path, int status, string code, string? json = null, string contentType = "application/json")
    {
        using var response = await SendAsync(method, path, json, contentType);
        return await AssertErrorAsync(response, status, code);
    }

    public static async Task<string> AssertErrorAsync(HttpResponseMessage response, int status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        Assert.Equal(["error"], root.EnumerateObject().Select(p => p.Name));
        var error = root.GetProperty("error");
        Assert.Equal(["code", "status", "message"], error.EnumerateObject().Select(p => p.Name));
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Equal(status, error.GetProperty("status").GetInt32());
        var message = error.GetProperty("message").GetString();
        Assert.False(string.IsNullOrWhiteSpace(message));
        return message!;
    }

    public void Dispose() => _http.Dispose();
}
