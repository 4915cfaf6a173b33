using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Grpc.Core;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Http.Features;
using V1 = BudgetGrains.Contracts.V1;

namespace BudgetGrains.Server.Rest;

/// <summary>A <see cref="RestRoute"/> resolved against the gRPC service it mirrors.</summary>
internal sealed class BoundRoute
{
    public required RestRoute Route { get; init; }
    public required RouteTemplate Template { get; init; }
    public required MethodDescriptor Method { get; init; }

    /// <summary>The path-bound field and the fields leading to it (<c>price</c>, <c>model</c>); empty for a collection.</summary>
    public required IReadOnlyList<FieldDescriptor> PathFields { get; init; }

    /// <summary>The field the body is; null when the body is the whole request (or the route takes none).</summary>
    public required FieldDescriptor? BodyField { get; init; }

    /// <summary>Verbs of the other routes under the same prefix (see <see cref="RouteTemplate.TryMatch"/>).</summary>
    public required IReadOnlySet<string> ReservedVerbs { get; init; }

    /// <summary>See <see cref="RestRoute.MaskFromBody"/>.</summary>
    public required FieldDescriptor? MaskField { get; init; }

    /// <summary>The rpc of the service instance that gRPC calls too: unary, or (an export) a stream of <see cref="V1.ExportChunk"/>.</summary>
    public InProcessUnary? Handler { get; init; }

    public InProcessStream? Stream { get; init; }
}

/// <summary>
/// Serves REST routes under <c>/api/</c> by calling the gRPC service instances in-process: the route table says
/// which rpc, <see cref="RestRequestBinder"/> builds its request, the response is the rpc's response in proto3 JSON,
/// and every failure is one <see cref="RestErrors"/> body. An rpc that streams <see cref="V1.ExportChunk"/>s (an export)
/// is the response body itself, written chunk by chunk as the rpc produces them. Other paths go to the rest of the pipeline.
/// </summary>
internal sealed class RestMirror
{
    public const string Root = "/api/v1/";
    public const string JsonContentType = "application/json; charset=utf-8";
    private const string ApiPrefix = "/api/";

    /// <summary>Default values are written too: a dashboard reads "frozen": false rather than guessing from absence.</summary>
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    private static readonly Action<ILogger, string, Exception> LogStreamFailed = LoggerMessage.Define<string>(
        LogLevel.Warning, new EventId(2, "RestStreamFailed"), "REST stream of {Rpc} failed after it started; the connection is cut");

    private static readonly Action<ILogger, string, Exception> LogHandlerFailed = LoggerMessage.Define<string>(
        LogLevel.Error, new EventId(1, "RestHandlerFailed"), "REST call to {Rpc} threw an exception");

    /// <summary>A property given twice is an error rather than "the last one wins".</summary>
    private static readonly JsonDocumentOptions StrictJson = new() { AllowDuplicateProperties = false };

    private readonly RequestDelegate _next;
    private readonly IReadOnlyList<BoundRoute> _routes;
    private readonly int _maxBodyBytes;
    private readonly ILogger _logger;

    public RestMirror(RequestDelegate next, IReadOnlyList<RestService> services, int maxBodyBytes, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBodyBytes);
        (_next, _maxBodyBytes, _logger) = (next, maxBodyBytes, logger);
        var templates = services.SelectMany(s => s.Routes.Select(r => (Service: s, Route: r, Template: RouteTemplate.Parse(Root, r.Template)))).ToList();
        _routes = templates.Select(t => Bind(t.Service, t.Route, t.Template,
            templates.Where(o => o.Template.Prefix == t.Template.Prefix && o.Template.Verb is not null)
                .Select(o => o.Template.Verb!).ToHashSet(StringComparer.Ordinal))).ToList();
    }

    public async Task InvokeAsync(HttpContext context)
    {
        var path = RawPath(context);
        if (!path.StartsWith(ApiPrefix, StringComparison.Ordinal))
        {
            await _next(context);
            return;
        }

        if (IsCrossOrigin(context.Request))
        {
            await RestErrors.WriteAsync(context.Response, StatusCodes.Status403Forbidden, StatusCode.PermissionDenied,
                "cross-origin requests are refused: the REST API answers pages of its own origin only");
            return;
        }

        BoundRoute? chosen = null;
        string? value = null;
        var allowed = new List<string>();
        foreach (var route in _routes)
        {
            if (!route.Template.TryMatch(path, route.ReservedVerbs, out var matched)) continue;
            allowed.Add(route.Route.Method);
            if (chosen is null && HttpMethods.Equals(route.Route.Method, context.Request.Method)) (chosen, value) = (route, matched);
        }

        if (allowed.Count == 0)
        {
            await RestErrors.WriteAsync(context.Response, StatusCodes.Status404NotFound, StatusCode.NotFound,
                $"no REST route {path}; the routes are listed in docs/rest-api.md");
            return;
        }

        if (chosen is null)
        {
            context.Response.Headers.Allow = string.Join(", ", allowed.Distinct());
            await RestErrors.WriteAsync(context.Response, StatusCodes.Status405MethodNotAllowed, StatusCode.Unimplemented,
                $"{context.Request.Method} is not allowed on {path}; use {string.Join(" or ", allowed.Distinct())}");
            return;
        }

        await CallAsync(context, chosen, value);
    }

    private async Task CallAsync(HttpContext context, BoundRoute route, string? pathValue)
    {
        var aborted = context.RequestAborted;
        try
        {
            var body = await ReadBodyAsync(context.Request, route, aborted);
            if (route.MaskField is { } mask) body = WithMaskFromBody(route, mask, body);
            var request = RestRequestBinder.Bind(route, pathValue, body, context.Request.Query);
            var call = new InProcessCallContext(context, $"/{route.Method.Service.FullName}/{route.Method.Name}");
            if (route.Stream is { } stream)
            {
                await stream(request, chunk => WriteChunkAsync(context.Response, (V1.ExportChunk)chunk, aborted), call);
                return;
            }
            var response = await route.Handler!(request, call);
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = JsonContentType;
            await context.Response.WriteAsync(Formatter.Format(response), aborted);
        }
        catch (Exception) when (aborted.IsCancellationRequested)
        {
            // The client went away: there is nobody to answer.
        }
        catch (Exception e) when (context.Response.HasStarted)
        {
            // A stream failed after its first chunk: the status is sent. Cutting the connection (no final chunk) tells
            // the client the body is incomplete, where ending it normally would pass a truncated file as a whole one.
            LogStreamFailed(_logger, route.Route.Rpc, e);
            context.Abort();
        }
        catch (RestError e)
        {
            await RestErrors.WriteAsync(context.Response, e.HttpStatus, e.Code, e.Message);
        }
        catch (RpcException e)
        {
            await RestErrors.WriteAsync(context.Response, RestErrors.HttpStatusOf(e.StatusCode), e.StatusCode, e.Status.Detail);
        }
        catch (Exception e) when (Services.SiloUnavailableInterceptor.IsUnavailable(e))
        {
            await RestErrors.WriteAsync(context.Response, RestErrors.HttpStatusOf(StatusCode.Unavailable), StatusCode.Unavailable,
                Services.SiloUnavailableInterceptor.Message);
        }
        catch (Exception e)
        {
            LogHandlerFailed(_logger, route.Route.Rpc, e);
            await RestErrors.WriteAsync(context.Response, StatusCodes.Status500InternalServerError, StatusCode.Unknown,
                "the call failed inside the server; the details are in its log");
        }
    }

    /// <summary>The body as a JSON object, null when empty. It is read whole, up to the gRPC message size limit.</summary>
    private async Task<JsonObject?> ReadBodyAsync(HttpRequest request, BoundRoute route, CancellationToken cancellationToken)
    {
        if (request.ContentLength > _maxBodyBytes) throw TooLarge(request.ContentLength.Value);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > _maxBodyBytes) throw TooLarge(buffer.Length);
        }

        if (buffer.Length == 0) return null;
        if (route.Route.Body is null)
            throw RestError.Invalid($"{route.Route.Method} {Root}{route.Route.Template} takes no body");
        if (!IsJson(request.ContentType))
            throw new RestError(StatusCodes.Status415UnsupportedMediaType, StatusCode.InvalidArgument,
                $"the body must be application/json, not {(string.IsNullOrEmpty(request.ContentType) ? "untyped" : request.ContentType)}");
        var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        // The parser keeps strings it does not look into as raw bytes, and invalid UTF-8 in one would fail later, as a
        // 500 (found by the fuzz corpus): refuse it here, as the bad input it is.
        if (!System.Text.Unicode.Utf8.IsValid(bytes)) throw RestError.Invalid("the body is not valid UTF-8");
        try
        {
            var node = JsonNode.Parse(bytes, documentOptions: StrictJson);
            return node as JsonObject ?? throw RestError.Invalid("the body must be a JSON object");
        }
        catch (JsonException e)
        {
            throw RestError.Invalid("the body is not valid JSON: " + e.Message);
        }
    }

    /// <summary>PATCH: the mask is the body's fields (JSON or proto names, the path field aside), so a field named with
    /// its default value ("frozen": false, "parent": "") is changed and a field left out is not.</summary>
    private static JsonObject WithMaskFromBody(BoundRoute route, FieldDescriptor mask, JsonObject? body)
    {
        body ??= new JsonObject();
        if (body.ContainsKey(mask.JsonName) || body.ContainsKey(mask.Name))
            throw RestError.Invalid($"{route.Route.Method} takes the fields to change from the body; leave '{mask.JsonName}' out (PUT takes one)");
        var input = route.Method.InputType;
        var paths = new List<string>();
        foreach (var (key, _) in body)
        {
            var field = input.FindFieldByName(key) ?? input.Fields.InDeclarationOrder().FirstOrDefault(f => f.JsonName == key);
            // An unknown key is left to the parser, which refuses it by name.
            if (field is not null && !route.PathFields.Contains(field)) paths.Add(field.JsonName);
        }
        body[mask.JsonName] = string.Join(",", paths);
        return body;
    }

    /// <summary>The first chunk sets the status and content type; each chunk is flushed, so the client reads as the store is read.</summary>
    private static async Task WriteChunkAsync(HttpResponse response, V1.ExportChunk chunk, CancellationToken cancellationToken)
    {
        if (!response.HasStarted)
        {
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = chunk.ContentType;
        }
        await response.Body.WriteAsync(chunk.Data.Memory, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    private RestError TooLarge(long bytes) => new(StatusCodes.Status413PayloadTooLarge, StatusCode.ResourceExhausted,
        $"request body larger than max ({bytes} vs. {_maxBodyBytes} bytes)");

    /// <summary>
    /// A browser sends Origin with cross-origin calls, and some (a form POST to :freeze) need no CORS preflight: without
    /// authentication, or with the dashboard's sign-in cookie (sent by pages of the same site on another port), any web
    /// page could otherwise drive a silo on the user's loopback.
    /// </summary>
    public static bool IsCrossOrigin(HttpRequest request)
    {
        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0) return false;
        return !Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            || !string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }

    private static bool IsJson(string? contentType)
    {
        var mediaType = (contentType ?? "").Split(';')[0].Trim();
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// The path as sent, still percent-encoded: "%3A" and "%2F" must stay distinguishable from a verb's ':' and a
    /// segment's '/', which the decoded <see cref="HttpRequest.Path"/> no longer allows.
    /// </summary>
    private static string RawPath(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw) || raw[0] != '/') return context.Request.Path.Value ?? "";
        var query = raw.IndexOf('?', StringComparison.Ordinal);
        return query < 0 ? raw : raw[..query];
    }

    private static BoundRoute Bind(RestService service, RestRoute route, RouteTemplate template, IReadOnlySet<string> reservedVerbs)
    {
        var method = service.Descriptor.FindMethodByName(route.Rpc)
            ?? throw new ArgumentException($"route {route.Method} {route.Template}: {service.Descriptor.FullName} has no rpc {route.Rpc}");
        if (method.IsClientStreaming || (method.IsServerStreaming && method.OutputType.FullName != V1.ExportChunk.Descriptor.FullName))
            throw new ArgumentException($"route {route.Method} {route.Template}: {route.Rpc} is neither unary nor a stream of {V1.ExportChunk.Descriptor.FullName}");

        var pathFields = new List<FieldDescriptor>();
        if (template.Field is not null)
        {
            var type = method.InputType;
            foreach (var name in template.Field.Split('.'))
            {
                var field = type?.FindFieldByName(name)
                    ?? throw new ArgumentException($"route {route.Template}: {method.InputType.FullName} has no field {template.Field}");
                pathFields.Add(field);
                type = field.FieldType == FieldType.Message && !field.IsRepeated ? field.MessageType : null;
            }
            if (pathFields[^1].FieldType != FieldType.String || pathFields[^1].IsRepeated)
                throw new ArgumentException($"route {route.Template}: {template.Field} is not a string field");
        }

        FieldDescriptor? bodyField = null;
        if (route.Body is not null and not "*")
        {
            bodyField = method.InputType.FindFieldByName(route.Body);
            if (bodyField is not { FieldType: FieldType.Message, IsRepeated: false })
                throw new ArgumentException($"route {route.Template}: body {route.Body} is not a message field of {method.InputType.FullName}");
        }

        FieldDescriptor? maskField = null;
        if (route.MaskFromBody is not null)
        {
            maskField = method.InputType.FindFieldByName(route.MaskFromBody);
            if (maskField is not { FieldType: FieldType.Message } || maskField.MessageType.FullName != "google.protobuf.FieldMask")
                throw new ArgumentException($"route {route.Template}: {route.MaskFromBody} is not a google.protobuf.FieldMask field of {method.InputType.FullName}");
        }

        ArgumentException Unbound() =>
            new($"route {route.Method} {route.Template}: the {service.Descriptor.FullName} instance binds no {route.Rpc}");

        return new BoundRoute
        {
            MaskField = maskField,
            Route = route,
            Template = template,
            Method = method,
            PathFields = pathFields,
            BodyField = bodyField,
            ReservedVerbs = reservedVerbs,
            Handler = method.IsServerStreaming ? null : service.Methods.GetValueOrDefault(route.Rpc) ?? throw Unbound(),
            Stream = method.IsServerStreaming ? service.Streams.GetValueOrDefault(route.Rpc) ?? throw Unbound() : null,
        };
    }
}
