using System.Text;

namespace BudgetGrains.Grains;

/// <summary>Paging of list calls: page sizes, and page tokens (the last key of the previous page, opaque to clients:
/// base64 of its UTF-8).</summary>
public static class PageTokens
{
    public static Failure InvalidSize => Failure.Invalid($"page_size must be between 0 and {Limits.MaxPageSize}");

    public static Failure InvalidToken => Failure.Invalid("page_token is not one this server gave out");

    /// <summary>The page size asked for (0 = the default), or null when out of range.</summary>
    public static int? Size(int pageSize) =>
        pageSize is < 0 or > Limits.MaxPageSize ? null : pageSize == 0 ? Limits.DefaultPageSize : pageSize;

    public static string Encode(string lastKey) => Convert.ToBase64String(Encoding.UTF8.GetBytes(lastKey));

    /// <summary>The key a page starts after; "" for the first page. False when the token was not made by <see cref="Encode"/>.</summary>
    public static bool TryDecode(string token, out string after)
    {
        after = "";
        if (token.Length == 0) return true;
        try
        {
            after = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            return after.Length > 0;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
