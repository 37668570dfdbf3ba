export declare const id: string;
export declare const panelName: string;
export declare const panelId: string;
export declare const dataSourceName: string;
export declare const dataSourceNamespace: string;
export declare const toolbarButtonsCustomization: string;
export declare const analyzeButtonId: string;
export declare const analyzeCommand: string;
