namespace Pipeline.Streams; public static class AssemblyMarker { }
