using System.Buffers;
using System.Text;

namespace BudgetGrains.Grpc.Internal;

/// <summary>
/// The percent-encoding of <c>grpc-message</c>: UTF-8 bytes, where every byte outside 0x20-0x7E and '%' itself
/// becomes "%XX" (uppercase hex).
/// </summary>
internal static class PercentEncoding
{
    private const byte FirstUnencoded = 0x20;
    private const byte LastUnencoded = 0x7E;
    private const char EscapeChar = '%';
    private const int MaxStackBytes = 256;

    public static string Encode(string value)
    {
        if (!NeedsEncoding(value))
        {
            return value;
        }

        var byteCount = Encoding.UTF8.GetByteCount(value);
        byte[]? rented = null;
        var bytes = byteCount <= MaxStackBytes ? stackalloc byte[MaxStackBytes] : (rented = ArrayPool<byte>.Shared.Rent(byteCount));
        try
        {
            bytes = bytes.Slice(0, Encoding.UTF8.GetBytes(value, bytes));
            var builder = new StringBuilder(byteCount * 3);
            foreach (var b in bytes)
            {
                if (IsUnencoded(b))
                {
                    builder.Append((char)b);
                }
                else
                {
                    builder.Append(EscapeChar).Append(HexUpper(b >> 4)).Append(HexUpper(b & 0xF));
                }
            }

            return builder.ToString();
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Decodes a received value. Per the spec a broken escape must not fail the call: it is kept as-is,
    /// and invalid UTF-8 becomes the replacement character.
    /// </summary>
    public static string Decode(string value)
    {
        if (!value.Contains(EscapeChar, StringComparison.Ordinal))
        {
            return value;
        }

        var bytes = new byte[value.Length];
        var count = 0;
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == EscapeChar && i + 2 < value.Length && TryHex(value[i + 1], out var high) && TryHex(value[i + 2], out var low))
            {
                bytes[count++] = (byte)((high << 4) | low);
                i += 2;
            }
            else
            {
                // Header values should be ASCII; a wider char cannot be one byte of the UTF-8 encoding, so it is replaced.
                bytes[count++] = c <= 0x7F ? (byte)c : (byte)'?';
            }
        }

        return Encoding.UTF8.GetString(bytes, 0, count);
    }

    private static bool NeedsEncoding(string value)
    {
        foreach (var c in value)
        {
            if (c > LastUnencoded || c < FirstUnencoded || c == EscapeChar)
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsUnencoded(byte b) => b is >= FirstUnencoded and <= LastUnencoded && b != (byte)EscapeChar;

    private static char HexUpper(int nibble) => (char)(nibble < 10 ? '0' + nibble : 'A' + nibble - 10);

    private static bool TryHex(char c, out int value)
    {
        value = c switch
        {
            >= '0' and <= '9' => c - '0',
            >= 'A' and <= 'F' => c - 'A' + 10,
            >= 'a' and <= 'f' => c - 'a' + 10,
            _ => -1,
        };
        return value >= 0;
    }
}
