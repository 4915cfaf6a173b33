using Microsoft.Extensions.Primitives;

namespace BudgetGrains.Grpc.Internal;

/// <summary>Header names and values of gRPC over HTTP/2 (doc/PROTOCOL-HTTP2.md).</summary>
internal static class GrpcProtocol
{
    public const string ContentType = "application/grpc";
    public const string StatusHeader = "grpc-status";
    public const string MessageHeader = "grpc-message";
    public const string TimeoutHeader = "grpc-timeout";
    public const string EncodingHeader = "grpc-encoding";
    public const string AcceptEncodingHeader = "grpc-accept-encoding";
    public const string IdentityEncoding = "identity";

    /// <summary>Shared values so that setting the fixed response headers does not allocate per call.</summary>
    public static readonly StringValues ContentTypeValue = new(ContentType);
    public static readonly StringValues IdentityValue = new(IdentityEncoding);
    public static readonly StringValues StatusOkValue = new("0");

    /// <summary>
    /// True for <c>application/grpc</c>, <c>application/grpc+proto</c>, <c>application/grpc;...</c>; false for
    /// <c>application/grpc-web</c>, which is a different protocol we leave to later middleware.
    /// </summary>
    public static bool IsGrpcContentType(string? contentType)
    {
        if (contentType is null || !contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (contentType.Length == ContentType.Length)
        {
            return true;
        }

        var next = contentType[ContentType.Length];
        return next is '+' or ';';
    }

    /// <summary>Cached decimal strings of the status codes so that writing a status does not format an int.</summary>
    private static readonly string[] StatusStrings = CreateStatusStrings();

    public static string StatusString(StatusCode code)
    {
        var index = (int)code;
        return (uint)index < (uint)StatusStrings.Length ? StatusStrings[index] : index.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string[] CreateStatusStrings()
    {
        var strings = new string[(int)StatusCode.Unauthenticated + 1];
        for (var i = 0; i < strings.Length; i++)
        {
            strings[i] = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return strings;
    }
}
