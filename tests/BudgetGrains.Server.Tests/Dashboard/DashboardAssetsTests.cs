using System.IO.Compression;
using System.Net;
using System.Text.RegularExpressions;
using BudgetGrains.Server.Dashboard;

namespace BudgetGrains.Server.Tests.Dashboard;

/// <summary>The dashboard's files as the silo serves them: compressed, named by content hash, cached for a year under
/// that name, revalidated otherwise.</summary>
public sealed class DashboardAssetsTests
{
    [Fact]
    public async Task ScriptsAreServedCompressedUnderTheirHashAndCachedForAYear()
    {
        await using var silo = await OwnSilo.StartAsync(OwnSilo.NewOptions("dashboard-assets"));
        using var http = new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = silo.Silo.HttpAddress };
        var page = await http.GetAsync("/");
        Assert.Equal("no-cache", page.Headers.CacheControl!.ToString());
        var html = await page.Content.ReadAsStringAsync();
        var script = Regex.Match(html, @"src=""(/dashboard/app\.js\?v=([0-9a-f]{12}))""");
        Assert.True(script.Success, "the page names app.js with its hash");

        using var request = new HttpRequestMessage(HttpMethod.Get, script.Groups[1].Value);
        request.Headers.AcceptEncoding.ParseAdd("gzip, br");
        var answer = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(["br"], answer.Content.Headers.ContentEncoding);
        Assert.Equal("public, max-age=31536000, immutable", answer.Headers.CacheControl!.ToString());
        var compressed = await answer.Content.ReadAsByteArrayAsync();
        using var decompressed = new MemoryStream();
        await new BrotliStream(new MemoryStream(compressed), CompressionMode.Decompress).CopyToAsync(decompressed);
        var original = await File.ReadAllBytesAsync(Path.Combine(DashboardHosting.AssetsDirectory, "app.js"));
        Assert.Equal(original, decompressed.ToArray());
        Assert.True(compressed.Length < original.Length / 2, $"{compressed.Length} of {original.Length} bytes");

        using var again = new HttpRequestMessage(HttpMethod.Get, script.Groups[1].Value);
        again.Headers.AcceptEncoding.ParseAdd("br");
        again.Headers.IfNoneMatch.Add(answer.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await http.SendAsync(again)).StatusCode);

        var unversioned = await http.GetAsync("/dashboard/app.js");
        Assert.Equal("no-cache", unversioned.Headers.CacheControl!.ToString());
        Assert.Empty(unversioned.Content.Headers.ContentEncoding);
        Assert.Equal(original, await unversioned.Content.ReadAsByteArrayAsync());
    }
}
