namespace Pipeline.Models.StructuredOutputs;

/// <summary>
/// String formats as patterns whose every match is valid for the format (dates check the days of each month, Feb
/// up to 28). Other formats are annotations (JSON Schema 2020-12's default) and add no constraint.
/// </summary>
public static class JsonFormats
{
    const string Date = @"[0-9]{4}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))";
    const string Time = @"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])";

    public static string? Pattern(string format) => format switch
    {
        "date" => Date,
        "time" => Time,
        "date-time" => Date + "T" + Time,
        "uuid" => "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "ipv4" => @"((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])",
        _ => null,
    };
}
