using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace BudgetGrains.Server.Rest;

/// <summary>
/// Builds an rpc's request message from the three parts of a REST call: the value bound by the path, the JSON body
/// and the query string. They are put together as one proto3 JSON object and parsed once by Google.Protobuf's
/// <see cref="JsonParser"/>, so the usual JSON mapping applies everywhere (int64 as "123" or 123, enums by name,
/// snake_case or camelCase names) and unknown fields are errors, not silently dropped typos. A field given in two
/// places is an error too: the call would otherwise depend on which one wins.
/// </summary>
internal static class RestRequestBinder
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(false));

    public static IMessage Bind(BoundRoute route, string? pathValue, JsonObject? body, IQueryCollection query)
    {
        var request = new JsonObject();
        if (body is not null)
        {
            if (route.BodyField is null) request = body;
            else request[route.BodyField.JsonName] = body;
        }

        if (route.PathFields.Count > 0) SetPathValue(request, route.PathFields, pathValue!);

        foreach (var (key, values) in query)
        {
            var input = route.Method.InputType;
            var field = input.FindFieldByName(key) ?? input.Fields.InDeclarationOrder().FirstOrDefault(f => f.JsonName == key);
            if (field is null)
                throw RestError.Invalid($"unknown query parameter '{key}'; {route.Route.Rpc} takes {string.Join(", ", QueryFieldNames(input))}");
            if (field.FieldType is FieldType.Message or FieldType.Group)
                throw RestError.Invalid($"'{field.Name}' cannot be given in the query string; send it in the JSON body");
            if (Holds(request, field))
                throw RestError.Invalid($"'{field.Name}' is given twice: in the query string and in the path or body");
            if (!field.IsRepeated && values.Count > 1)
                throw RestError.Invalid($"query parameter '{key}' is given {values.Count} times");
            request[field.JsonName] = field.IsRepeated
                ? new JsonArray(values.Select(v => QueryValue(field, v!)).ToArray())
                : QueryValue(field, values[0]!);
        }

        RefuseFieldsNamedTwice(request, route.Method.InputType);
        try
        {
            return Parser.Parse(request.ToJsonString(), route.Method.InputType);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw RestError.Invalid("invalid request: " + e.Message);
        }
        catch (InvalidJsonException e)
        {
            throw RestError.Invalid("invalid request: " + e.Message);
        }
    }

    /// <summary>Puts the path value at its (possibly nested) field, refusing a body that sets the same field.</summary>
    private static void SetPathValue(JsonObject request, IReadOnlyList<FieldDescriptor> fields, string value)
    {
        var target = request;
        foreach (var field in fields.Take(fields.Count - 1))
        {
            var existing = Find(target, field);
            if (existing is null)
            {
                var nested = new JsonObject();
                target[field.JsonName] = nested;
                target = nested;
            }
            else
            {
                target = existing as JsonObject ?? throw RestError.Invalid($"'{field.Name}' must be a JSON object");
            }
        }

        var leaf = fields[^1];
        if (Holds(target, leaf))
            throw RestError.Invalid($"'{leaf.Name}' is given by the path; leave it out of the body");
        target[leaf.JsonName] = value;
    }

    /// <summary>
    /// The parser takes both "limit_nanos" and "limitNanos" and keeps the last: one object giving both is refused,
    /// like a duplicate property, at every level of nesting.
    /// </summary>
    private static void RefuseFieldsNamedTwice(JsonObject json, MessageDescriptor type)
    {
        foreach (var field in type.Fields.InDeclarationOrder())
        {
            if (field.Name != field.JsonName && json.ContainsKey(field.Name) && json.ContainsKey(field.JsonName))
                throw RestError.Invalid($"'{field.Name}' is given twice, as {field.Name} and {field.JsonName}");
            if (field.FieldType != FieldType.Message || field.IsMap || field.MessageType.File.Package == "google.protobuf") continue;
            var value = Find(json, field);
            var items = value is JsonArray array ? array.AsEnumerable() : [value];
            foreach (var nested in items.OfType<JsonObject>()) RefuseFieldsNamedTwice(nested, field.MessageType);
        }
    }

    private static JsonNode? Find(JsonObject target, FieldDescriptor field) =>
        target.TryGetPropertyValue(field.JsonName, out var byJsonName) ? byJsonName
        : target.TryGetPropertyValue(field.Name, out var byName) ? byName
        : null;

    private static bool Holds(JsonObject target, FieldDescriptor field) =>
        target.ContainsKey(field.JsonName) || target.ContainsKey(field.Name);

    /// <summary>Query values are text; as JSON strings they parse into any scalar field (proto3 JSON accepts "42"
    /// for numbers), except booleans, which must be JSON true or false. Integers are checked here so that the error
    /// names the parameter (the parser's message does not); their range is left to the parser.</summary>
    private static JsonNode QueryValue(FieldDescriptor field, string value)
    {
        switch (field.FieldType)
        {
            case FieldType.Bool:
                return value switch
                {
                    "true" => JsonValue.Create(true),
                    "false" => JsonValue.Create(false),
                    _ => throw RestError.Invalid($"query parameter '{field.Name}' is '{value}', not true or false"),
                };
            case FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 or FieldType.UInt32 or FieldType.Fixed32
                or FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 or FieldType.UInt64 or FieldType.Fixed64:
                var digits = value.StartsWith('-') ? value.AsSpan(1) : value.AsSpan();
                if (digits.IsEmpty || digits.IndexOfAnyExceptInRange('0', '9') >= 0)
                    throw RestError.Invalid($"query parameter '{field.Name}' is '{value}', not an integer");
                return JsonValue.Create(value);
            default:
                return JsonValue.Create(value);
        }
    }

    private static IEnumerable<string> QueryFieldNames(MessageDescriptor input) =>
        input.Fields.InDeclarationOrder().Where(f => f.FieldType is not (FieldType.Message or FieldType.Group)).Select(f => f.Name);
}
