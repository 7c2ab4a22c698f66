using System.Text.Json;
using Pipeline.Host.Http;
using Pipeline.Models.Sampling;
using Pipeline.Models.StructuredOutputs;

namespace Pipeline.Host.Protocol;

/// <summary>
/// A request's constraint from whichever field carries it (response_format, structured_outputs, or the older
/// guided_json / guided_regex / guided_choice / guided_grammar), compiled once here so an unsupported feature is a 400
/// naming the field and the feature before anything is queued.
/// </summary>
public static class StructuredOutputsMapping
{
    public static StructuredOutputsParams? ToStructuredOutputs(this GenerationRequest r)
    {
        var found = new List<(string Field, StructuredOutputsParams Params)>();
        if (r.ResponseFormat is { } rf && FromResponseFormat(rf) is { } a) found.Add(("response_format", a));
        if (r.StructuredOutputs is { } so) found.Add(("structured_outputs", FromStructuredOutputs(so)));
        if (r.GuidedJson is { } gj) found.Add(("guided_json", new StructuredOutputsParams { Json = SchemaText(gj, "guided_json") }));
        if (r.GuidedRegex is { } gr) found.Add(("guided_regex", new StructuredOutputsParams { Regex = gr }));
        if (r.GuidedChoice is { } gc) found.Add(("guided_choice", new StructuredOutputsParams { Choice = gc }));
        if (r.GuidedGrammar is { } gg) found.Add(("guided_grammar", new StructuredOutputsParams { Grammar = gg }));
        if (r.GuidedWhitespacePattern != null)
            throw ApiError.BadRequest("guided_whitespace_pattern is not supported: whitespace in JSON outputs is one space or a newline and indentation", "guided_whitespace_pattern");
        if (found.Count == 0) return null;
        if (found.Count > 1)
            throw ApiError.BadRequest($"only one structured outputs constraint can be given, got {string.Join(" and ", found.Select(f => f.Field))}", found[1].Field);
        var (field, p) = found[0];
        try { p.Compile(); }
        catch (GrammarException e) { throw ApiError.BadRequest($"{field}: {e.Message}", field); }
        return p;
    }

    static StructuredOutputsParams? FromResponseFormat(ResponseFormat rf)
    {
        if (rf.Other is { Count: > 0 } o) throw ApiError.BadRequest($"response_format has unknown field '{o.Keys.First()}'", "response_format");
        switch (rf.Type)
        {
            case "text": return null;
            case "json_object": return new StructuredOutputsParams { JsonObject = true };
            case "json_schema":
                var js = rf.JsonSchema ?? throw ApiError.BadRequest("response_format of type json_schema needs a json_schema object", "response_format");
                if (js.Schema is not { } schema) throw ApiError.BadRequest("response_format.json_schema.schema is required", "response_format");
                return new StructuredOutputsParams { Json = SchemaText(schema, "response_format") };
            case null: throw ApiError.BadRequest("response_format.type is required (text, json_object or json_schema)", "response_format");
            default: throw ApiError.BadRequest($"response_format.type '{rf.Type}' is not supported (text, json_object or json_schema)", "response_format");
        }
    }

    static StructuredOutputsParams FromStructuredOutputs(StructuredOutputsRequest so)
    {
        if (so.Other is { Count: > 0 } o) throw ApiError.BadRequest($"structured_outputs has unknown field '{o.Keys.First()}'", "structured_outputs");
        if (so.WhitespacePattern != null) throw ApiError.BadRequest("structured_outputs.whitespace_pattern is not supported", "structured_outputs");
        if (so.StructuralTag != null) throw ApiError.BadRequest("structured_outputs.structural_tag is not supported", "structured_outputs");
        var p = new StructuredOutputsParams
        {
            Json = so.Json is { } j ? SchemaText(j, "structured_outputs") : null,
            Regex = so.Regex,
            Choice = so.Choice,
            Grammar = so.Grammar,
            JsonObject = so.JsonObject ?? false,
        };
        if (p.NumConstraints != 1)
            throw ApiError.BadRequest(p.NumConstraints == 0
                ? "structured_outputs needs one of json, regex, choice, grammar or json_object"
                : "structured_outputs takes only one of json, regex, choice, grammar or json_object", "structured_outputs");
        return p;
    }

    /// <summary>A schema given as an object or as a JSON string, as canonical text (so equal schemas share a grammar).</summary>
    static string SchemaText(JsonElement schema, string field)
    {
        if (schema.ValueKind == JsonValueKind.String)
        {
            try
            {
                using var doc = JsonDocument.Parse(schema.GetString()!);
                return doc.RootElement.GetRawText();
            }
            catch (JsonException e) { throw ApiError.BadRequest($"{field}: the schema string is not valid JSON: {e.Message}", field); }
        }
        if (schema.ValueKind is not (JsonValueKind.Object or JsonValueKind.True))
            throw ApiError.BadRequest($"{field}: the schema must be a JSON object", field);
        return schema.GetRawText();
    }
}
