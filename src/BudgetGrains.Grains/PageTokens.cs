using System.Text;

namespace BudgetGrains.Grains;

/// <summary>Page tokens of list calls: the last key of the previous page, opaque to clients (base64 of its UTF-8).</summary>
public static class PageTokens
{
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
