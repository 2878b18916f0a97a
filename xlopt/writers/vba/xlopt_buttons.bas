Attribute VB_Name = "xlopt_buttons"
' The Run and Reset buttons of the graddesc sheets: each calls Python through xlwings' RunPython.
' The logic lives in xlopt.macros (acts on the active sheet, uses its defined names only).
' One statement per Sub, not one line: LibreOffice drops a Sub written as "Sub x(): ...: End Sub".
Sub xlopt_run()
    RunPython "import xlopt.macros; xlopt.macros.run()"
End Sub

Sub xlopt_reset()
    RunPython "import xlopt.macros; xlopt.macros.reset()"
End Sub
