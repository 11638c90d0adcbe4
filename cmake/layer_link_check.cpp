// The program of the layer link checks (see CMakeLists.txt): it does nothing, but linking it with
// every object of one layer and of the layers below proves that the layer calls nothing above it.
int main() { return 0; }
