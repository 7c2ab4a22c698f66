namespace Pipeline.Actors; public static class AssemblyMarker { }
