using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace BudgetGrains.Server.Dashboard;

/// <summary>
/// The dashboard's files, read once at start and served from memory (docs/decisions/0034): each compressed once with
/// Brotli and gzip, with a strong ETag. The pages name their scripts and styles with the content hash
/// (<c>/dashboard/app.js?v=1a2b3c4d5e6f</c>), and an asset asked for under its current hash is cached for a year,
/// so a reload revalidates the page alone; the pages themselves are always revalidated (<c>no-cache</c>).
/// </summary>
internal sealed partial class DashboardAssets
{
    public const string Root = "/dashboard";
    private const string Csp = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'";

    private readonly Dictionary<string, Asset> _assets;

    private DashboardAssets(Dictionary<string, Asset> assets) => _assets = assets;

    private sealed record Asset(string ContentType, string Hash, bool IsPage, byte[] Identity, byte[] Brotli, byte[] Gzip);

    public static DashboardAssets Load(string directory)
    {
        var files = Directory.GetFiles(directory).ToDictionary(f => "/" + Path.GetFileName(f), File.ReadAllBytes, StringComparer.Ordinal);
        var hashes = files.ToDictionary(f => f.Key, f => Hash(f.Value), StringComparer.Ordinal);
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var (name, bytes) in files)
        {
            var isPage = name.EndsWith(".html", StringComparison.Ordinal);
            // A page names each asset with its hash: a changed file is a new URL, so a year of caching is safe.
            var body = isPage
                ? Encoding.UTF8.GetBytes(AssetReference().Replace(Encoding.UTF8.GetString(bytes),
                    m => hashes.TryGetValue(m.Groups[2].Value, out var h) ? $"{m.Groups[1].Value}{m.Groups[2].Value}?v={h}\"" : m.Value))
                : bytes;
            assets[Root + name] = new Asset(ContentTypeOf(name), Hash(body), isPage, body, Compress(body, brotli: true), Compress(body, brotli: false));
        }
        return new DashboardAssets(assets);
    }

    /// <summary>Serves GET/HEAD of a dashboard file; false for any other request.</summary>
    public async Task<bool> TryServeAsync(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method)) return false;
        var path = request.Path == "/" ? Root + "/index.html" : request.Path.Value ?? "";
        if (!_assets.TryGetValue(path, out var asset)) return false;

        var (body, encoding) = Choose(asset, request.Headers.AcceptEncoding.ToString());
        var etag = $"\"{asset.Hash}{(encoding is null ? "" : "-" + encoding)}\"";
        var headers = context.Response.Headers;
        headers.ETag = etag;
        headers.Vary = "Accept-Encoding";
        headers.XContentTypeOptions = "nosniff";
        headers.CacheControl = !asset.IsPage && request.Query["v"] == asset.Hash ? "public, max-age=31536000, immutable" : "no-cache";
        if (asset.IsPage)
        {
            headers.ContentSecurityPolicy = Csp;
            headers["Referrer-Policy"] = "same-origin";
        }
        if (request.Headers.IfNoneMatch.ToString().Split(',').Any(t => t.Trim() == etag))
        {
            context.Response.StatusCode = StatusCodes.Status304NotModified;
            return true;
        }
        context.Response.ContentType = asset.ContentType;
        if (encoding is not null) headers.ContentEncoding = encoding;
        context.Response.ContentLength = body.Length;
        if (HttpMethods.IsGet(request.Method)) await context.Response.Body.WriteAsync(body, context.RequestAborted);
        return true;
    }

    /// <summary>The smallest encoding the browser accepts.</summary>
    private static (byte[] Body, string? Encoding) Choose(Asset asset, string acceptEncoding)
    {
        if (Accepts(acceptEncoding, "br") && asset.Brotli.Length < asset.Identity.Length) return (asset.Brotli, "br");
        if (Accepts(acceptEncoding, "gzip") && asset.Gzip.Length < asset.Identity.Length) return (asset.Gzip, "gzip");
        return (asset.Identity, null);
    }

    /// <summary>Accept-Encoding names <paramref name="coding"/> with no q or q above 0.</summary>
    private static bool Accepts(string acceptEncoding, string coding) => acceptEncoding.Split(',').Any(part =>
    {
        var fields = part.Split(';');
        if (!fields[0].Trim().Equals(coding, StringComparison.OrdinalIgnoreCase)) return false;
        var q = fields.Skip(1).Select(f => f.Trim()).FirstOrDefault(f => f.StartsWith("q=", StringComparison.Ordinal));
        return q is null || !double.TryParse(q[2..], NumberStyles.Float, CultureInfo.InvariantCulture, out var weight) || weight > 0;
    });

    private static byte[] Compress(byte[] body, bool brotli)
    {
        using var output = new MemoryStream();
        using (Stream compressor = brotli ? new BrotliStream(output, CompressionLevel.SmallestSize) : new GZipStream(output, CompressionLevel.SmallestSize))
            compressor.Write(body);
        return output.ToArray();
    }

    private static string Hash(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes))[..12];

    private static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".png" => "image/png",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };

    /// <summary>An attribute naming a dashboard file: href="/dashboard/app.css" or src="/dashboard/app.js".</summary>
    [GeneratedRegex(@"((?:href|src)=""/dashboard)(/[A-Za-z0-9._-]+)""")]
    private static partial Regex AssetReference();
}
