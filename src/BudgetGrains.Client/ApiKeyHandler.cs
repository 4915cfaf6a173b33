using System.Net.Http.Headers;

namespace BudgetGrains.Client;

/// <summary>Adds <c>authorization: Bearer &lt;key&gt;</c> to every request of the channel (cleartext or TLS alike).</summary>
internal sealed class ApiKeyHandler(string apiKey, HttpMessageHandler inner) : DelegatingHandler(inner)
{
    public static HttpMessageHandler Wrap(string? apiKey, HttpMessageHandler inner) => apiKey is null ? inner : new ApiKeyHandler(apiKey, inner);

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return base.SendAsync(request, cancellationToken);
    }
}
