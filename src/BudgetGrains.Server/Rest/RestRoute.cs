namespace BudgetGrains.Server.Rest;

/// <summary>
/// One REST route of the mirror: an HTTP method and a path template bound to a unary rpc.
/// Templates are relative to <c>/api/v1/</c> and have one of three shapes:
/// <c>budgets</c> (a collection, matched exactly), <c>alerts/{id}</c> (one segment bound to request field <c>id</c>)
/// or <c>budgets/{**scope}</c> (the rest of the path, slashes included, since scopes are "kind/key"); a bound
/// segment may end in a custom verb, <c>budgets/{**scope}:freeze</c>. A dotted field (<c>price.model</c>) is nested.
/// </summary>
/// <param name="Body">
/// Where the JSON body goes: null = the route takes no body; "*" = the body is the whole request message (minus the
/// path field); a field name = the body is that field of the request (a PUT of a price is the price itself).
/// </param>
/// <param name="MaskFromBody">A field mask field of the request (PATCH): it is set to the fields the body names, so the
/// rpc changes exactly those (a body may not set it itself).</param>
internal sealed record RestRoute(string Method, string Template, string Rpc, string? Body = null, string? MaskFromBody = null);

/// <summary>A parsed <see cref="RestRoute.Template"/>, matched against the raw (still percent-encoded) request path.</summary>
internal sealed class RouteTemplate
{
    private RouteTemplate(string prefix, string? field, bool catchAll, string? verb)
    {
        (Prefix, Field, CatchAll, Verb) = (prefix, field, catchAll, verb);
    }

    /// <summary>The literal start of the path, e.g. <c>/api/v1/budgets/</c>; the whole path for a collection.</summary>
    public string Prefix { get; }

    /// <summary>The request field bound to the rest of the path; null for a collection.</summary>
    public string? Field { get; }

    public bool CatchAll { get; }

    /// <summary>The custom verb after the bound value (<c>freeze</c> in <c>{**scope}:freeze</c>), or null.</summary>
    public string? Verb { get; }

    /// <exception cref="ArgumentException">The template is not one of the supported shapes.</exception>
    public static RouteTemplate Parse(string root, string template)
    {
        var open = template.IndexOf('{', StringComparison.Ordinal);
        if (open < 0)
        {
            if (template.Contains('}') || template.Contains(':')) throw new ArgumentException($"bad route template '{template}'");
            return new RouteTemplate(root + template, field: null, catchAll: false, verb: null);
        }

        var close = template.IndexOf('}', open);
        if (close < 0 || open == 0 || template[open - 1] != '/' || template.IndexOf('{', open + 1) >= 0)
            throw new ArgumentException($"bad route template '{template}': one {{field}} after a '/', then at most ':verb'");
        var field = template[(open + 1)..close];
        var catchAll = field.StartsWith("**", StringComparison.Ordinal);
        if (catchAll) field = field[2..];
        var tail = template[(close + 1)..];
        if (field.Length == 0 || (tail.Length > 0 && (tail[0] != ':' || tail.Length == 1 || tail.IndexOfAny(['/', ':'], 1) >= 0)))
            throw new ArgumentException($"bad route template '{template}'");
        return new RouteTemplate(root + template[..open], field, catchAll, tail.Length > 0 ? tail[1..] : null);
    }

    /// <summary>
    /// Matches <paramref name="rawPath"/>; <paramref name="value"/> is the percent-decoded bound value.
    /// <paramref name="reservedVerbs"/> are the verbs of the other routes under the same prefix: a path ending in
    /// one of them belongs to that route, so a key that really ends in ":freeze" is written "%3Afreeze".
    /// </summary>
    public bool TryMatch(string rawPath, IReadOnlySet<string> reservedVerbs, out string? value)
    {
        value = null;
        if (Field is null) return string.Equals(rawPath, Prefix, StringComparison.Ordinal);
        if (!rawPath.StartsWith(Prefix, StringComparison.Ordinal)) return false;

        var rest = rawPath.AsSpan(Prefix.Length);
        var colon = rest.LastIndexOf(':');
        var verb = colon >= 0 && rest[(colon + 1)..].IndexOf('/') < 0 ? rest[(colon + 1)..].ToString() : null;
        if (Verb is not null)
        {
            if (verb != Verb) return false;
            rest = rest[..colon];
        }
        else if (verb is not null && reservedVerbs.Contains(verb))
        {
            return false;
        }

        if (rest.IsEmpty || (!CatchAll && rest.Contains('/'))) return false;
        value = Uri.UnescapeDataString(rest.ToString());
        return true;
    }
}
