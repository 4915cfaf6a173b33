using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Grpc.Core;

namespace BudgetGrains.Server.Rest;

/// <summary>A REST call that fails before or instead of its rpc; answered with the error body like any rpc failure.</summary>
internal sealed class RestError(int httpStatus, StatusCode code, string message) : Exception(message)
{
    public int HttpStatus { get; } = httpStatus;

    public StatusCode Code { get; } = code;

    public static RestError Invalid(string message) => new(StatusCodes.Status400BadRequest, StatusCode.InvalidArgument, message);
}

/// <summary>
/// The one error body of the REST mirror, <c>{"error":{"code":"INVALID_ARGUMENT","status":400,"message":"..."}}</c>:
/// <c>code</c> is always a gRPC status name, so REST and gRPC clients branch on the same vocabulary.
/// </summary>
internal static class RestErrors
{
    /// <summary>
    /// The HTTP status of a gRPC status, as in google.rpc.Code, except FAILED_PRECONDITION: 409 rather than 400, so
    /// that "the scope is not in a state for this" is not mistaken for a malformed request (412 is about If-* headers).
    /// </summary>
    public static int HttpStatusOf(StatusCode code) => code switch
    {
        StatusCode.OK => StatusCodes.Status200OK,
        StatusCode.Cancelled => 499,
        StatusCode.InvalidArgument or StatusCode.OutOfRange => StatusCodes.Status400BadRequest,
        StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
        StatusCode.NotFound => StatusCodes.Status404NotFound,
        StatusCode.AlreadyExists or StatusCode.Aborted or StatusCode.FailedPrecondition => StatusCodes.Status409Conflict,
        StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        StatusCode.Unimplemented => StatusCodes.Status501NotImplemented,
        StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        StatusCode.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>The canonical name of a status, as the gRPC spec spells it: InvalidArgument → INVALID_ARGUMENT.</summary>
    public static string NameOf(StatusCode code)
    {
        var name = code.ToString();
        var upper = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]) && char.IsLower(name[i - 1])) upper.Append('_');
            upper.Append(char.ToUpperInvariant(name[i]));
        }
        return upper.ToString();
    }

    /// <summary>Messages quote names ('scope'); a JSON body needs no HTML-safe escaping, so they stay readable.</summary>
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Task WriteAsync(HttpResponse response, int httpStatus, StatusCode code, string message)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteStartObject("error");
            json.WriteString("code", NameOf(code));
            json.WriteNumber("status", httpStatus);
            json.WriteString("message", message);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        response.StatusCode = httpStatus;
        response.ContentType = RestMirror.JsonContentType;
        return response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length)).AsTask();
    }
}
